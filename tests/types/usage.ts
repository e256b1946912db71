// Compiled with `tsc --noEmit` in the test suite: the declarations must accept real usage
// and reject misuse (the @ts-expect-error lines fail the build if they stop being errors).
import {
  ThreadPoolManager,
  WasmPanicError,
  WasmHangError,
  WasmCallError,
  type Job,
  type LogEntry,
  type ThreadPoolStats,
} from 'wasm-threadpool';

const manager = new ThreadPoolManager({
  module: new URL('./demo.mjs', import.meta.url),
  threads: 4,
  heartbeatTimeoutMs: 2000,
  idleTimeoutMs: 0,
  log: (entry: LogEntry) => console.log(entry.thread, entry.level, entry.message),
});

// No module: a host for run() jobs.
new ThreadPoolManager({ threads: 2 });
// @ts-expect-error module is a path or a URL
new ThreadPoolManager({ module: 42 });
// @ts-expect-error threads is a number
new ThreadPoolManager({ module: 'x.mjs', threads: '2' });

async function main(): Promise<number> {
  await manager.start();
  const sum: number = await manager.execute(async () => 40 + 2, { timeoutMs: 1000 });
  const controller = new AbortController();
  await manager.execute(() => 'x', { signal: controller.signal });
  // @ts-expect-error execute needs a function
  await manager.execute(42);
  manager.on('crash', (error) => {
    if (error instanceof WasmPanicError) console.log(error.kind, error.thread, error.pthread, error.wasmStack);
    if (error instanceof WasmHangError) console.log(error.silentMs, error.during);
  });
  manager.on('log', (entry) => console.log(entry.time));
  try {
    await manager.execute(() => 1);
  } catch (error) {
    if (error instanceof WasmCallError) console.log(error.exportName, error.originalName, error.code);
  }
  await manager.execute(() => 1, { hangTimeoutMs: Infinity });
  await manager.execute(() => 1, { hangTimeoutMs: false });
  const solved = await manager.run<{ sat: boolean }>(new URL('./job.mjs', import.meta.url), { n: 3 },
    { timeoutMs: 500, transferList: [new ArrayBuffer(8)] });
  console.log(solved.sat);
  // @ts-expect-error transferList is an array
  await manager.run('/abs/job.mjs', 1, { transferList: new ArrayBuffer(8) });
  const job: Job<{ n: number }, number> = (input, { module, memory }) => input.n + (memory?.buffer.byteLength ?? 0) + (module ? 1 : 0);
  console.log(job);
  const view: Float64Array = manager.view(Float64Array, 0, 8);
  const stats: ThreadPoolStats = manager.stats();
  await manager.shutdown();
  return sum + view.length + stats.calls;
}

void main();
