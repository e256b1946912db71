// Child process: loads the patched examples/minimal glue on Node's main thread (with
// prewarmed workers) and on a worker thread (the build's own pool size), runs the pool.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

async function exercise(gluePath, options, threads) {
  const create = (await import(pathToFileURL(gluePath).href)).default;
  const m = await create(options);
  m.initThreadPool(threads);
  // As the pool host does: one event-loop turn so the new pthreads start before this
  // thread blocks in a parallel call.
  await new Promise((resolve) => setTimeout(resolve, 50));
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
  // On a worker thread the build's PTHREAD_POOL_SIZE (1) applies: a pool of one thread
  // runs on the prewarmed worker.
  parentPort.postMessage(await exercise(workerData.gluePath, {}, 1));
}
