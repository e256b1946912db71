// Child process: loads the patched examples/minimal glue on Node's main thread (with
// prewarmed workers) and on a worker thread (none prewarmed, as built), runs the pool.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

async function exercise(gluePath, options, threads) {
  const create = (await import(pathToFileURL(gluePath).href)).default;
  const m = await create(options);
  m.initThreadPool(threads);
  // As the pool host does: stock glue finishes starting a pthread on this thread's event
  // loop, so wait (without blocking) until every pool thread runs before a parallel call.
  const started = new Int32Array(m.wasmMemory.buffer, m.runtimeInfo().startedWorkers, 1);
  const deadline = Date.now() + 20_000;
  while (Atomics.load(started, 0) < threads && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const result = { sum: m.sumOfSquares(1000), exports: [...m.__wasmProxyExports], id: m.__wasmProxyModuleId };
  try {
    m.sumOfSquares(-1);
    result.threw = null;
  } catch (error) {
    result.threw = typeof error === 'number' ? m.wasmpoolDescribeException(error) : String(error);
  }
  m.exitThreadPool();
  return result;
}

if (isMainThread) {
  const gluePath = process.argv[2];
  const main = await exercise(gluePath, { pthreadPoolSize: 3 }, 2);
  const worker = new Worker(new URL(import.meta.url), { workerData: { gluePath } });
  const inWorker = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  process.stdout.write(`@@RESULT@@${JSON.stringify({ main, inWorker })}\n`);
  process.exit(0);
} else {
  // On a worker thread, as built: no prewarmed worker; the pool's one thread gets a
  // worker made on demand.
  parentPort.postMessage(await exercise(workerData.gluePath, {}, 1));
}
