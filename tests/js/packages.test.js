// Published threaded Emscripten packages, as they are on npm, run safely in a host of jobs:
// no patch, Closure-compiled glue included. Each package is driven through its own JS API
// inside the host (run()); its threads are supervised workers (glue/host/supervised-worker.cjs).
//   - stockfish 19, the multithreaded lite engine: Closure glue that is its own pthread
//     worker (Emscripten 3.1.7), through its UCI API;
//   - @tensorflow/tfjs-backend-wasm 4.22.0, threaded: pthread workers from blob: URLs, which
//     Node alone refuses;
//   - z3-solver 5.2.0, its own high-level API, unpatched (and given as options.module);
//   - onnxruntime-web 1.20.1 (ES module glue that is its own pthread worker) and
//     wasm-vips 0.0.19 (libvips), beyond the three the issue named.
// For each: the same answers as unmanaged (a child process running the same job on Node's
// main thread), a long operation stopped, a real fault on one of the package's own
// pthreads arriving as a WasmPanicError from that thread's own notice, its output in the
// sink, no thread left after shutdown().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ThreadPoolManager, WasmAbortError, WasmCallError, WasmHangError, WasmPanicError, WasmPoolError, WasmTimeoutError,
} from '../../glue/index.js';
import { measureLag, osThreadCount, waitForThreadCount } from './helpers.js';
import { notInstalled } from '../patch/helpers/npm-package.js';

const job = (name) => new URL(`./fixtures/packages/${name}-job.mjs`, import.meta.url);
const fixture = (name) => new URL(`./fixtures/packages/${name}`, import.meta.url);
const skipStockfish = notInstalled('stockfish', '19.0.0');
const skipTfjs = notInstalled('@tensorflow/tfjs-backend-wasm', '4.22.0');
const skipZ3 = notInstalled('z3-solver', '5.2.0');
const skipOrt = notInstalled('onnxruntime-web', '1.20.1');
const skipVips = notInstalled('wasm-vips', '0.0.19');
// Not the watchdog: these faults must be reported by the dying thread itself, in
// milliseconds, long before a hang could be declared.
const NO_WATCHDOG = { heartbeatTimeoutMs: 120_000 };
// Main never waits for the host: its timers run late only by CPU contention (the packages'
// threads keep both cores busy here). A blocked main thread would show the whole operation.
const MAX_LAG_MS = 250;

/** A job-only manager whose log entries are kept; shut down after the test. */
function hostOfJobs(t, options = {}) {
  const logs = [];
  const manager = new ThreadPoolManager({ threads: 2, log: (entry) => logs.push(entry), ...options });
  t.after(() => manager.shutdown());
  return { manager, logs };
}

/** The same job on Node's main thread, with no manager, in a child process. */
function unmanaged(name, input) {
  const child = spawnSync(process.execPath, [fileURLToPath(fixture('run-unmanaged.mjs')), fileURLToPath(job(name)),
    JSON.stringify(input)], { encoding: 'utf8', timeout: 120_000 });
  const line = child.stdout.split('\n').find((l) => l.startsWith('@@RESULT@@'));
  assert.ok(line, `the unmanaged run printed no result (status ${child.status}): ${child.stderr.slice(-2000)}`);
  return JSON.parse(line.slice('@@RESULT@@'.length));
}

/** A fault on a package's pthread: its kind, the thread that died, reported by that thread. */
function assertPthreadPanic(error, kinds) {
  assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
  assert.ok(kinds.includes(error.kind), `kind ${error.kind}, expected one of ${kinds}`);
  assert.equal(error.source, 'port', 'the thread\'s own notice, not the watchdog or the host');
  assert.ok(error.pthread > 0, 'a pthread of the package, not the host thread');
  assert.match(error.message, /in thread 0x[0-9a-f]+ \(a pthread of the module, not a pool thread\)/);
}

test('a manager without a module is a host for jobs; execute() says why it cannot route and what to do', async (t) => {
  const { manager } = hostOfJobs(t);
  const refused = await manager.execute(async () => 1).catch((e) => e);
  assert.ok(refused instanceof WasmPoolError);
  assert.equal(refused.code, 'ERR_WASM_NOT_ROUTABLE');
  assert.match(refused.message, /no module \(options\.module\).*manager\.run\(job, input\)/);
  assert.equal(manager.stats().executes, 0, 'nothing was started for it');
  assert.equal(manager.stats().starts, 0);
  assert.equal(await manager.run(job('workers'), { op: 'blob' }), 42, 'a blob: URL worker answered');
  assert.throws(() => new ThreadPoolManager({ wasm: '/x.wasm' }), /options\.wasm is the \.wasm of options\.module/);
});

test('every worker made in the host: its output reaches the sink with its identity; it counts against the thread limit',
  async (t) => {
    const { manager, logs } = hostOfJobs(t, { threads: 1, maxExtraThreads: 3 });
    assert.equal(await manager.run(job('workers'), { op: 'print' }), 0);
    const printed = logs.filter((entry) => entry.thread === -1 && entry.level !== 'warn').map((e) => [e.level, e.message]);
    assert.deepEqual(printed, [
      ['stdout', 'printed by a worker'],
      ['stderr', 'an error line from a worker'],
      ['stdout', 'a partial line, finished'],
      ['stderr', 'written to fd 2'],
    ]);
    logs.length = 0;
    assert.equal(await manager.run(job('workers'), { op: 'own-stdout' }), 'for my creator\n',
      'a creator that reads the worker\'s stdout itself keeps it');
    assert.deepEqual(logs.filter((e) => e.thread === -1).map((e) => [e.level, e.message]), [['stderr', 'for the sink']]);
    assert.equal(await manager.run(job('workers'), { op: 'spawn', count: 4 }), 4, 'threads + maxExtraThreads');
    const refused = await manager.run(job('workers'), { op: 'spawn', count: 5 }).catch((e) => e);
    assert.ok(refused instanceof WasmCallError, `WasmCallError, got ${refused?.stack ?? refused}`);
    assert.equal(refused.code, 'ERR_WASM_THREAD_LIMIT');
    assert.match(refused.message, /4 threads are alive and the limit is 4 .*raise maxExtraThreads/);
    assert.ok(logs.some((entry) => entry.level === 'warn' && /refused to start a thread/.test(entry.message)));
    assert.equal(await manager.run(job('workers'), { op: 'spawn', count: 4 }), 4, 'the places came back');
    assert.equal(manager.stats().crashes, 0);
  });

test('a worker of a job that dies is a WasmPanicError from its own notice; the next job runs on a fresh host',
  async (t) => {
    const { manager } = hostOfJobs(t, NO_WATCHDOG);
    const error = await manager.run(job('workers'), { op: 'die' }).catch((e) => e);
    assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
    assert.equal(error.source, 'port');
    assert.equal(error.kind, 'unknown', 'a JS error, not a wasm fault');
    assert.match(error.panicMessage, /the worker failed/);
    assert.equal(await manager.run(job('workers'), { op: 'blob' }), 42);
    assert.equal(manager.stats().crashes, 1);
  });

test('stockfish 19 (Closure glue, its own pthread worker): the same move as unmanaged, threaded, output in the sink',
  { skip: skipStockfish, timeout: 120_000 }, async (t) => {
    const before = osThreadCount();
    const { manager, logs } = hostOfJobs(t);
    const input = { op: 'bestmove', depth: 10, threads: 1 };
    assert.deepEqual(await manager.run(job('stockfish'), input), unmanaged('stockfish', input));
    const threaded = await manager.run(job('stockfish'), { op: 'bestmove', depth: 8, threads: 2 });
    assert.match(threaded.bestmove, /^[a-h][1-8][a-h][1-8]/);
    assert.ok(logs.some((entry) => entry.level === 'stdout' && /^Stockfish 19 Lite WASM Multithreaded/.test(entry.message)),
      'the engine\'s banner, printed in the host, is in the sink');
    await manager.shutdown();
    assert.equal(await waitForThreadCount(before), before, 'no thread left after shutdown()');
  });

test('stockfish 19: an endless search is stopped by timeoutMs, main stays responsive, the next job works',
  { skip: skipStockfish, timeout: 120_000 }, async (t) => {
    const { manager } = hostOfJobs(t);
    const { result: error, maxLagMs } = await measureLag(() =>
      manager.run(job('stockfish'), { op: 'think', threads: 1 }, { timeoutMs: 1500 }).catch((e) => e));
    assert.ok(error instanceof WasmTimeoutError, `WasmTimeoutError, got ${error?.stack ?? error}`);
    assert.ok(maxLagMs < MAX_LAG_MS, `main's event loop lagged ${maxLagMs} ms`);
    assert.equal(manager.stats().recycles, 1, 'the host running the search was replaced');
    const next = await manager.run(job('stockfish'), { op: 'bestmove', depth: 6, threads: 2 });
    assert.match(next.bestmove, /^[a-h][1-8][a-h][1-8]/);
  });

test('stockfish 19: its heap overwritten during a search: a search thread traps, reported by that thread',
  { skip: skipStockfish, timeout: 120_000 }, async (t) => {
    const before = osThreadCount();
    const { manager, logs } = hostOfJobs(t, NO_WATCHDOG);
    const error = await manager.run(job('stockfish'), { op: 'corrupt', threads: 2 }).catch((e) => e);
    assertPthreadPanic(error, ['oob', 'abort', 'trap']);
    assert.ok(logs.some((entry) => entry.pthread === error.pthread && entry.level === 'stderr'),
      'the dying thread\'s own report is in the sink, with its identity');
    const next = await manager.run(job('stockfish'), { op: 'bestmove', depth: 6, threads: 2 });
    assert.match(next.bestmove, /^[a-h][1-8][a-h][1-8]/);
    await manager.shutdown();
    assert.equal(await waitForThreadCount(before), before, 'no thread left after shutdown()');
  });

test('stockfish 19\'s glue given as options.module (Closure output): ctx.module is the host\'s instance',
  { skip: skipStockfish, timeout: 120_000 }, async (t) => {
    const glue = fileURLToPath(new URL('../../node_modules/stockfish/bin/stockfish-19-lite.js', import.meta.url));
    const { manager, logs } = hostOfJobs(t, { module: glue });
    const info = await manager.run(fixture('module-info.mjs'), { uci: ['uci', 'isready'] });
    assert.deepEqual(info, { module: 'object', ccall: 'function', memory: true });
    assert.ok(logs.some((entry) => entry.message === 'uciok'), 'the engine answered through its print');
    const refused = await manager.execute(async () => 1).catch((e) => e);
    assert.equal(refused.code, 'ERR_WASM_NOT_ROUTABLE');
    assert.match(refused.message, /stockfish-19-lite\.js is not patched for wasm-threadpool/);
  });

test('tfjs-backend-wasm 4.22.0, threaded in the host (Node alone refuses its blob: workers): the same tensors as ' +
  'unmanaged', { skip: skipTfjs, timeout: 120_000 }, async (t) => {
  const before = osThreadCount();
  const { manager } = hostOfJobs(t);
  const threaded = await manager.run(job('tfjs'), { op: 'compute', threads: 2 });
  assert.equal(threaded.backend, 'wasm');
  assert.equal(threaded.threads, 4, 'XNNPACK\'s pool: the caller and 3 pthreads');
  const single = unmanaged('tfjs', { op: 'compute', threads: 1 });
  assert.equal(single.threads, 1);
  for (const key of ['matMul', 'conv2d', 'softmax']) {
    assert.equal(threaded[key].length, single[key].length);
    threaded[key].forEach((value, i) => assert.ok(Math.abs(value - single[key][i]) <= 1e-5 * Math.max(1, Math.abs(value)),
      `${key}[${i}]: ${value} threaded, ${single[key][i]} unmanaged`));
  }
  await manager.shutdown();
  assert.equal(await waitForThreadCount(before), before, 'no thread left after shutdown()');
});

test('tfjs-backend-wasm: a long synchronous inference is a hang under hangTimeoutMs; the next job works',
  { skip: skipTfjs, timeout: 120_000 }, async (t) => {
    const { manager } = hostOfJobs(t);
    await manager.run(job('tfjs'), { op: 'compute', threads: 2 }); // loaded: the hang below is the work itself
    const { result: error, maxLagMs } = await measureLag(() =>
      manager.run(job('tfjs'), { op: 'busy', rounds: 100_000 }, { hangTimeoutMs: 500 }).catch((e) => e));
    assert.ok(error instanceof WasmHangError, `WasmHangError, got ${error?.stack ?? error}`);
    assert.ok(maxLagMs < MAX_LAG_MS, `main's event loop lagged ${maxLagMs} ms`);
    const again = await manager.run(job('tfjs'), { op: 'compute', threads: 2 });
    assert.equal(again.threads, 4);
  });

test('tfjs-backend-wasm: a threaded matMul reading past the end of memory traps on a pool pthread, reported by it',
  { skip: skipTfjs, timeout: 120_000 }, async (t) => {
    const { manager } = hostOfJobs(t, NO_WATCHDOG);
    const error = await manager.run(job('tfjs'), { op: 'corrupt', threads: 2 }).catch((e) => e);
    assertPthreadPanic(error, ['oob']);
    assert.match(error.panicMessage, /memory access out of bounds/);
    assert.equal((await manager.run(job('tfjs'), { op: 'compute', threads: 2 })).threads, 4);
  });

test('z3-solver 5.2.0 unpatched, through its own API: the same model as unmanaged; an abort stops a long check',
  { skip: skipZ3, timeout: 120_000 }, async (t) => {
    const before = osThreadCount();
    const { manager } = hostOfJobs(t);
    const input = { op: 'solve', min: 40, max: 42 };
    assert.deepEqual(await manager.run(job('z3'), input), unmanaged('z3', input));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('the user gave up')), 1000);
    const { result: error, maxLagMs } = await measureLag(() =>
      manager.run(job('z3'), { op: 'pigeonhole', holes: 12 }, { signal: controller.signal }).catch((e) => e));
    assert.ok(error instanceof WasmAbortError, `WasmAbortError, got ${error?.stack ?? error}`);
    assert.ok(maxLagMs < MAX_LAG_MS, `main's event loop lagged ${maxLagMs} ms`);
    assert.deepEqual(await manager.run(job('z3'), input), { answer: 'sat', x: '41' });
    await manager.shutdown();
    assert.equal(await waitForThreadCount(before), before, 'no thread left after shutdown()');
  });

test('z3-solver unpatched: a trap on its detached std::thread is a WasmPanicError from that thread',
  { skip: skipZ3, timeout: 120_000 }, async (t) => {
    const { manager, logs } = hostOfJobs(t, NO_WATCHDOG);
    const error = await manager.run(job('z3'), { op: 'corrupt' }).catch((e) => e);
    assertPthreadPanic(error, ['oob']);
    assert.ok(logs.some((entry) => entry.pthread === error.pthread), 'its output, with its identity');
    assert.deepEqual(await manager.run(job('z3'), { op: 'solve', min: 1, max: 3 }), { answer: 'sat', x: '2' });
  });

test('z3-solver\'s glue given as options.module, unpatched: ctx.module is the host\'s instance, the API runs on it',
  { skip: skipZ3, timeout: 120_000 }, async (t) => {
    const glue = fileURLToPath(new URL('../../node_modules/z3-solver/build/z3-built.js', import.meta.url));
    const { manager } = hostOfJobs(t, { module: glue });
    assert.deepEqual(await manager.run(job('z3'), { op: 'module' }), { given: true, version: 'has exports' });
    assert.deepEqual(await manager.run(job('z3'), { op: 'solve', min: 40, max: 42 }), { answer: 'sat', x: '41' });
    const refused = await manager.execute(async () => 1).catch((e) => e);
    assert.equal(refused.code, 'ERR_WASM_NOT_ROUTABLE');
  });

test('onnxruntime-web 1.20.1, threaded: the same inference as unmanaged on its own pthreads; a long run stopped by timeoutMs',
  { skip: skipOrt, timeout: 120_000 }, async (t) => {
    const before = osThreadCount();
    const { manager } = hostOfJobs(t);
    const input = { op: 'infer', n: 128, threads: 2 };
    assert.deepEqual(await manager.run(job('onnxruntime'), input), unmanaged('onnxruntime', input));
    assert.ok(osThreadCount() >= before + 2, 'the host and at least one pthread of the runtime');
    const error = await manager.run(job('onnxruntime'), { op: 'long', n: 256, runs: 1e6 }, { timeoutMs: 1000 }).catch((e) => e);
    assert.ok(error instanceof WasmTimeoutError, `WasmTimeoutError, got ${error?.stack ?? error}`);
    assert.deepEqual(await manager.run(job('onnxruntime'), input), unmanaged('onnxruntime', input), 'on a fresh host');
    await manager.shutdown();
    assert.equal(await waitForThreadCount(before), before, 'no thread left after shutdown()');
  });

test('wasm-vips 0.0.19: the same image as unmanaged; a pipeline thousands of operations deep is a WasmPanicError, not a dead process',
  { skip: skipVips, timeout: 120_000 }, async (t) => {
    const before = osThreadCount();
    const { manager } = hostOfJobs(t, NO_WATCHDOG);
    const input = { op: 'pipeline', depth: 20, size: 64 };
    assert.deepEqual(await manager.run(job('vips'), input), unmanaged('vips', input));
    const error = await manager.run(job('vips'), { op: 'pipeline', depth: 5000, size: 64 }).catch((e) => e);
    assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
    assert.ok(['stack-overflow', 'trap'].includes(error.kind), error.kind);
    assert.equal(manager.stats().crashes, 1, 'the host was replaced: its instance may be corrupt');
    assert.deepEqual(await manager.run(job('vips'), input), unmanaged('vips', input), 'on a fresh host');
    await manager.shutdown();
    assert.equal(await waitForThreadCount(before), before, 'no thread left after shutdown()');
  });
