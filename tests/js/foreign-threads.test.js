// C++ that creates its own threads, hosted through execute(): std::thread started and
// joined while the host is blocked in the call (from the host thread and from pool
// threads), many threads at once, a std::thread pool that outlives the call that made it,
// the thread limit, and faults and output on threads that are not pool threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ThreadPoolManager, WasmCallError, WasmPanicError } from '../../glue/index.js';
import { countOutcomes, holdingLoop, measureLag, osThreadCount, quietAfterRestart, testModule } from './helpers.js';

const threadsModule = testModule('threads_module');
const THREADS_GLUE = threadsModule.glue;
const MAX_LAG_MS = 250;

const loadThreadsModule = threadsModule.load;

const newManager = (t, options) => threadsModule.manager(t, options);

test('an export that starts and joins one std::thread returns (the host is blocked in the call)', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t, { heartbeatTimeoutMs: 5000 });
  assert.equal(await manager.execute(() => mod.joinOneThread()), 42);
  // Again on the same host: the finished thread's worker is reused.
  assert.equal(await manager.execute(() => mod.joinOneThread()), 42);
  assert.equal(manager.stats().hangs, 0);
});

test('64 std::threads alive at once besides the pool, started while the host waits', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t, { threads: 1 });
  const expected = (64 * 63) / 2;
  assert.equal(await manager.execute(() => mod.joinManyThreads(64), { hangTimeoutMs: Infinity }), expected);
});

test('pool tasks that start and join std::threads (pthread_create from pool threads)', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t);
  // sum of 2*i for i < 8
  assert.equal(await manager.execute(() => mod.threadsFromPoolTasks(8), { hangTimeoutMs: Infinity }), 56);
});

test('a std::thread pool created in one call keeps working in the next, with or without an await between', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t, { idleTimeoutMs: 60_000 });
  await manager.execute(() => mod.startPersistentPool(3), { hangTimeoutMs: Infinity });
  assert.ok(await manager.execute(() => mod.runOnPersistentPool(30)) >= 2, 'the pool threads ran the jobs');
  // Two calls sent back to back: the host runs the second right after the first.
  const both = await manager.execute(() => Promise.all([mod.runOnPersistentPool(9), mod.runOnPersistentPool(9)]));
  assert.ok(both.every((threads) => threads >= 1 && threads <= 3), String(both));
  // Created and used within one execute, no await between the two calls.
  const [, used] = await manager.execute(() => Promise.all([mod.startPersistentPool(2), mod.runOnPersistentPool(8)]),
    { hangTimeoutMs: Infinity });
  assert.ok(used >= 1 && used <= 2, `ran on the new pool's threads (${used})`);
  await manager.execute(() => mod.stopPersistentPool());
});

test('past the thread limit: a clear error naming the limit and the option, within milliseconds; the host stays usable', async (t) => {
  const mod = await loadThreadsModule();
  const logs = [];
  const manager = newManager(t, { threads: 1, maxExtraThreads: 3, log: (entry) => logs.push(entry) });
  assert.equal(await manager.execute(() => mod.joinManyThreads(3)), 3, 'up to the limit works');
  const began = performance.now();
  const error = await manager.execute(() => mod.joinManyThreads(5)).catch((e) => e);
  const elapsed = performance.now() - began;
  assert.ok(error instanceof WasmCallError, `WasmCallError, got ${error?.stack ?? error}`);
  assert.equal(error.code, 'ERR_WASM_THREAD_LIMIT');
  assert.match(error.message, /limit is 4/);
  assert.match(error.message, /maxExtraThreads/);
  assert.ok(elapsed < 2000, `refused promptly (${elapsed.toFixed(0)} ms), not after a hang timeout`);
  assert.ok(logs.some((e) => e.level === 'warn' && /maxExtraThreads/.test(e.message)), 'and a warning in the log');
  assert.equal(await manager.execute(() => mod.joinOneThread()), 42, 'the host is still usable');
  assert.equal(manager.stats().crashes + manager.stats().hangs, 0);
});

test('options.maxExtraThreads is checked', () => {
  assert.throws(() => new ThreadPoolManager({ module: THREADS_GLUE, maxExtraThreads: -1 }), /maxExtraThreads must be an integer from 0/);
  assert.throws(() => new ThreadPoolManager({ module: THREADS_GLUE, maxExtraThreads: 1.5 }), RangeError);
});

for (const [fault, kind, pattern] of [['trapOnStdThread', 'trap', /unreachable/], ['abortOnStdThread', 'abort', /Aborted/]]) {
  test(`${kind} on a std::thread (not a pool thread) while the host waits: its real kind and thread`, async (t) => {
    const mod = await loadThreadsModule();
    const entries = [];
    const manager = newManager(t, { log: (entry) => entries.push(entry) });
    const crashes = [];
    manager.on('crash', (error) => crashes.push(error));
    const restarted = once(manager, 'restart');
    // Counted from before the fault: the execute and the routed call it waits for.
    let routed;
    const executed = manager.execute(() => {
      const sent = mod[fault]();
      routed = countOutcomes(sent);
      return sent;
    });
    const call = countOutcomes(executed);
    const { maxLagMs } = await measureLag(() => executed.catch(() => {}));
    await quietAfterRestart(restarted);
    assert.deepEqual([call.resolved, call.rejected], [0, 1], 'the execute rejected');
    assert.deepEqual([routed.resolved, routed.rejected], [0, 1], 'so did its call, on the failed host');
    assert.equal(routed.error, call.error);
    const { calls, completed, failed } = manager.stats();
    assert.deepEqual({ calls, completed, failed }, { calls: 1, completed: 0, failed: 1 }, 'no call of the failed host left pending');
    assert.equal(crashes.length, 1, 'one crash reported, once');
    assert.equal(crashes[0], call.error, 'the same error as the call\'s');
    const error = call.error;
    assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
    assert.equal(error.kind, kind);
    assert.match(error.panicMessage, pattern);
    assert.equal(error.thread, -1, 'not a pool thread');
    assert.ok(error.pthread > 0, 'names the pthread');
    assert.match(error.message, /in thread 0x[0-9a-f]+ \(a pthread of the module, not a pool thread\)/);
    assert.ok(maxLagMs < MAX_LAG_MS, `main stayed responsive (${maxLagMs.toFixed(1)} ms)`);
    assert.equal(await manager.execute(() => mod.joinOneThread()), 42, 'the next call works');
    assert.deepEqual(entries.filter((e) => /malformed/.test(e.message)), [], 'every message matched protocol.cjs');
  });
}

test('a trap on a detached std::thread while no call is pending: a crash event with its kind and thread', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t);
  const crashed = once(manager, 'crash');
  await manager.execute(() => mod.trapOnDetachedThreadLater(30));
  const [error] = await holdingLoop(crashed);
  assert.ok(error instanceof WasmPanicError);
  assert.equal(error.kind, 'trap');
  assert.ok(error.pthread > 0);
  assert.equal(await manager.execute(() => mod.joinOneThread()), 42);
});

test('a trap on the host thread from its event loop while no call is pending: kind trap, the host thread', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t);
  const crashed = once(manager, 'crash');
  await manager.execute(() => mod.trapOnHostLater(30));
  const [error] = await holdingLoop(crashed);
  assert.ok(error instanceof WasmPanicError);
  assert.equal(error.kind, 'trap', error.message);
  assert.equal(error.thread, -1);
  assert.equal(error.pthread, 0);
  assert.match(error.message, /in the host thread/);
  assert.equal(await manager.execute(() => mod.joinOneThread()), 42);
});

test("a std::thread's output and wasmpool::log go to the log sink, never to the process's streams", async (t) => {
  const mod = await loadThreadsModule();
  const entries = [];
  const manager = newManager(t, { log: (entry) => entries.push(entry) });
  await manager.execute(() => mod.logFromStdThread());
  const deadline = Date.now() + 2000;
  while (entries.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  const log = entries.find((e) => e.message === 'wasmpool::log from a std::thread');
  assert.ok(log, `log entry arrived: ${JSON.stringify(entries)}`);
  assert.equal(log.level, 'warn');
  assert.ok(log.pthread > 0, 'with the thread it came from');
  assert.ok(entries.some((e) => e.level === 'stdout' && e.message === 'printf from a std::thread'));
});

test('a fault on a std::thread is reported through the sink, not on stderr, with log: false', async (t) => {
  // The crash text Emscripten's worker prints for a dying pthread must not reach fd 2.
  const { spawnSync } = await import('node:child_process');
  const script = `
    import { ThreadPoolManager } from ${JSON.stringify(new URL('../../glue/index.js', import.meta.url).href)};
    const mod = await (await import(${JSON.stringify(THREADS_GLUE)})).default();
    const manager = new ThreadPoolManager({ module: ${JSON.stringify(THREADS_GLUE)}, threads: 1, log: false });
    const error = await manager.execute(() => mod.trapOnStdThread()).catch((e) => e);
    await manager.execute(() => mod.logFromStdThread());
    await manager.shutdown();
    console.log(error.kind);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'trap');
  assert.equal(child.stderr, '', 'nothing written to stderr');
});

test('after a hang on a pool thread while no call was pending, shutdown() resolves only when every thread is gone', async (t) => {
  const mod = await loadThreadsModule();
  const baseline = osThreadCount();
  const manager = new ThreadPoolManager({ module: THREADS_GLUE, threads: 2, log: false, idleTimeoutMs: 0, heartbeatTimeoutMs: 500 });
  t.after(() => manager.shutdown());
  const crashed = once(manager, 'crash');
  await manager.execute(() => mod.spinPoolThreadAfterReturn());
  // The idle stop finds a spinning pool thread: it is ended promptly and reported.
  const [error] = await holdingLoop(crashed);
  assert.equal(error.code, 'ERR_WASM_HANG');
  assert.equal(error.during, 'stop');
  await manager.shutdown();
  assert.equal(osThreadCount(), baseline, 'no thread left behind when shutdown() resolved');
});

test('shutdown() during an idle stop that is stuck waits for it', async (t) => {
  const mod = await loadThreadsModule();
  const baseline = osThreadCount();
  const manager = new ThreadPoolManager({ module: THREADS_GLUE, threads: 2, log: false, idleTimeoutMs: 0 });
  const crashes = [];
  manager.on('crash', (error) => crashes.push(error));
  await manager.execute(() => mod.spinPoolThreadAfterReturn());
  await new Promise((resolve) => setTimeout(resolve, 20)); // the idle stop has begun
  await manager.shutdown();
  assert.equal(osThreadCount(), baseline, 'no thread left behind when shutdown() resolved');
  assert.ok(crashes.length > 0, 'the stuck stop was reported');
  for (const error of crashes) assert.deepEqual([error.code, error.during], ['ERR_WASM_HANG', 'stop']);
});

test('a stuck idle stop that shutdown() waits for is reported once', async (t) => {
  const mod = await loadThreadsModule();
  const manager = new ThreadPoolManager({ module: THREADS_GLUE, threads: 2, log: false, idleTimeoutMs: 0 });
  t.after(() => manager.shutdown());
  const crashes = [];
  manager.on('crash', (error) => crashes.push(error));
  await manager.execute(() => mod.spinPoolThreadAfterReturn());
  await new Promise((resolve) => setTimeout(resolve, 20)); // the idle stop has begun
  await manager.shutdown();
  await new Promise((resolve) => setTimeout(resolve, 1200)); // past any second stop deadline
  assert.deepEqual(crashes.map((error) => error.during), ['stop']);
  assert.equal(manager.stats().hangs, 1);
});
