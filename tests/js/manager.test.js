// ThreadPoolManager: routing, results, data, logs, lifecycle and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { ThreadPoolManager, WasmCallError, WasmShutdownError } from '../../glue/index.js';
import { DEMO_GLUE, holdingLoop, loadDemo, newManager, osThreadCount, waitForThreadCount, waitFor } from './helpers.js';

test('calls inside execute() run in the pool host and return Promises; calls outside run locally', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  // Outside execute(): the ordinary instance, synchronous, no pool (serial fallback).
  assert.equal(demo.add(2, 3), 5);
  assert.equal(demo.threadCount(), 0);
  const local = demo.parallelSum(1e6);
  const routed = await manager.execute(async () => {
    const pending = demo.parallelSum(1e6);
    assert.ok(pending instanceof Promise, 'a routed call returns a Promise');
    const raw = demo._malloc(16);
    assert.ok(raw instanceof Promise, 'raw _exports (EXPORTED_FUNCTIONS) are routed too');
    return { sum: await pending, threads: await demo.threadCount(), raw: await raw };
  });
  assert.equal(routed.sum, local);
  assert.equal(routed.sum, (1e6 * (1e6 - 1)) / 2);
  assert.equal(routed.threads, 2, 'the host runs a pool of the requested size');
  assert.equal(typeof routed.raw, 'number');
  assert.equal(demo.add(1, 1), 2, 'after execute() calls are local again');
});

test('concurrent execute() calls keep their own routing; code outside stays local', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  const results = await Promise.all([
    manager.execute(async () => [await demo.fib(20), await demo.echo('a')]),
    manager.execute(async () => [await demo.fib(21), await demo.echo('b')]),
    (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return [demo.fib(15), demo.echo('local')]; // not inside execute(): synchronous
    })(),
  ]);
  assert.deepEqual(results, [[6765, 'a'], [10946, 'b'], [610, 'local']]);
});

test('typed arrays go in and come back as copies', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  const input = Float64Array.from({ length: 100_000 }, (_, i) => i * 0.5);
  const { sum, scaled } = await manager.execute(async () => ({
    sum: await demo.sumFloat64(input),
    scaled: await demo.scaleFloat64(input.subarray(0, 10), 2),
  }));
  assert.equal(sum, input.reduce((a, b) => a + b, 0));
  assert.ok(scaled instanceof Float64Array);
  assert.deepEqual([...scaled], [...input.subarray(0, 10)].map((x) => x * 2));
  assert.ok(!(scaled.buffer instanceof SharedArrayBuffer), 'results do not alias the host heap');
});

test('main reads and writes the host heap directly through view()', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  const n = 1 << 20;
  const sum = await manager.execute(async () => {
    const address = await demo._malloc(n * 8);
    const heap = manager.view(Float64Array, address, n);
    for (let i = 0; i < n; i++) heap[i] = i;
    const result = await demo.sumFloat64At(address, n);
    await demo._free(address);
    return result;
  });
  assert.equal(sum, (n * (n - 1)) / 2);
  assert.throws(() => newManager(t).view(Float64Array, 0, 1), /needs a running pool: call it inside execute/);
  assert.throws(() => manager.view(Array, 0, 1), /Type must be a typed array constructor/);
});

test('pool threads log over their own ports with thread, level and time; printf reaches the user', async (t) => {
  const demo = await loadDemo();
  const entries = [];
  const manager = newManager(t, { log: (entry) => entries.push(entry) });
  await manager.execute(async () => {
    await demo.logFromThreads(16);
    await demo.printFromThreads(4);
  });
  // Ports and the host's channel are not ordered with each other: give stragglers a moment.
  const expected = (e) => e.level === 'info' || (e.level === 'stdout' && /^(printf|cout) line/.test(e.message));
  for (let i = 0; i < 100 && entries.filter(expected).length < 24; i++) await new Promise((r) => setTimeout(r, 10));
  const logs = entries.filter((e) => e.level === 'info');
  assert.equal(logs.length, 16);
  for (const entry of logs) {
    assert.ok(entry.thread >= 0 && entry.thread < 2, `thread index ${entry.thread}`);
    assert.equal(typeof entry.time, 'number');
    assert.match(entry.message, /^log line \d+ from worker \d$/);
  }
  const stdout = entries.filter((e) => e.level === 'stdout').map((e) => e.message);
  assert.equal(stdout.filter((line) => line.startsWith('printf line')).length, 4);
  assert.equal(stdout.filter((line) => line.startsWith('cout line')).length, 4);
});

test('logs arrive while the host is still blocked in the call that makes them', async (t) => {
  const demo = await loadDemo();
  const arrivals = [];
  const manager = newManager(t, { log: (entry) => entry.level === 'info' && arrivals.push(performance.now()) });
  const finished = await manager.execute(async () => {
    await demo.renderMandelbrot(640, 640, 2000, 32, true, '');
    return performance.now();
  });
  // Ports and the host's channel are not ordered with each other: give stragglers a moment.
  for (let i = 0; i < 100 && arrivals.length < 400; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(arrivals.length, 400, 'one line per tile');
  assert.ok(arrivals[0] < finished, 'the first tile was logged before the render returned');
});

test('the host refuses names that are not exports of the module', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.execute(async () => {
    const moduleId = demo.__wasmProxyModuleId;
    for (const name of ['__proto__', 'constructor', 'PThread', 'asm', 'initThreadPoolX']) {
      await assert.rejects(globalThis.__wasmProxy.call(moduleId, name, []), (error) => {
        assert.equal(error.code, 'ERR_WASM_UNKNOWN_EXPORT');
        assert.match(error.message, /is not an export of this module/);
        return true;
      });
    }
    assert.equal(await demo.add(2, 2), 4);
  });
});

test('a C++ exception rejects only its own call and the host stays up', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.execute(() => demo.noop());
  await assert.rejects(
    manager.execute(() => demo.fault('exception', 'pool', 0)),
    (error) => {
      assert.ok(error instanceof WasmCallError);
      assert.equal(error.code, 'ERR_WASM_CPP_EXCEPTION');
      assert.equal(error.originalName, 'std::runtime_error');
      assert.match(error.message, /deliberate failure deep inside nested joins/);
      return true;
    },
  );
  assert.equal(await manager.execute(() => demo.add(40, 2)), 42);
  assert.equal(manager.stats().restarts, 0, 'no restart after a recoverable exception');
});

test('bad input gets a clear error and the host survives', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.execute(async () => {
    await assert.rejects(demo.add(1, () => 2), (error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /argument 2 of add\(\) cannot be sent to the pool host: it is a function/);
      return true;
    });
    await assert.rejects(demo.add(1), (error) => {
      assert.ok(error instanceof WasmCallError);
      assert.equal(error.originalName, 'BindingError');
      assert.match(error.message, /add\(\) failed: function add called with 1 arguments, expected 2/);
      return true;
    });
    await assert.rejects(demo.fault('trap', 'nowhere', 0), /where must be 'pool', 'host' or 'idle'/);
    assert.equal(await demo.add(2, 2), 4, 'the same host answers afterwards');
  });
  assert.equal(manager.stats().restarts, 0);
  assert.equal(manager.stats().crashes, 0);
});

test('invalid options and arguments are rejected before anything starts', async (t) => {
  assert.throws(() => new ThreadPoolManager(), TypeError);
  assert.throws(() => new ThreadPoolManager({ module: DEMO_GLUE, threads: 0 }), RangeError);
  assert.throws(() => new ThreadPoolManager({ module: DEMO_GLUE, threads: 65 }), /threads must be an integer from 1 to 64/);
  assert.throws(() => new ThreadPoolManager({ module: DEMO_GLUE, threads: 1.5 }), RangeError);
  assert.throws(() => new ThreadPoolManager({ module: DEMO_GLUE, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 50 }), RangeError);
  assert.throws(() => new ThreadPoolManager({ module: DEMO_GLUE, idleTimeoutMs: -1 }), RangeError);
  assert.throws(() => new ThreadPoolManager({ module: DEMO_GLUE, thread: 2 }), /unknown option "thread"/);
  assert.throws(() => new ThreadPoolManager({ module: 42 }), TypeError);
  const manager = newManager(t);
  await assert.rejects(manager.execute('not a function'), TypeError);
  await assert.rejects(manager.execute(() => 1, { timeoutMs: 0 }), RangeError);
  await assert.rejects(manager.execute(() => 1, { signal: {} }), TypeError);
  await assert.rejects(manager.execute(() => 1, { retries: 3 }), /unknown execute\(\) option "retries"/);
  assert.equal(manager.stats().starts, 0, 'nothing was started');
});

test('execute() nested in execute() of the same manager is refused', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.execute(async () => {
    await assert.rejects(manager.execute(() => demo.noop()), /execute\(\) was called inside execute\(\)/);
    assert.equal(await demo.add(1, 2), 3);
  });
});

test('an unpatched or missing module gives a start error naming the file', async (t) => {
  const manager = new ThreadPoolManager({ module: new URL('./no-such-glue.mjs', import.meta.url), log: false });
  t.after(() => manager.shutdown());
  await assert.rejects(manager.execute(() => 1), (error) => {
    assert.equal(error.code, 'ERR_WASM_HOST_START');
    assert.match(error.message, /no-such-glue\.mjs/);
    return true;
  });
  const unpatched = new ThreadPoolManager({ module: new URL('./helpers.js', import.meta.url), log: false });
  await assert.rejects(unpatched.execute(() => 1), /is not patched for wasm-threadpool/);
});

// A first start boots its host while main still reads and compiles the module
// (host-preboot.js): a module that fails to load, or a shutdown that comes first, must not
// leave that worker behind.
test('a first start that fails to load its module, or is shut down while loading it, leaves no worker behind', async (t) => {
  const demo = await loadDemo();
  const baseline = osThreadCount();
  const missing = new ThreadPoolManager({ module: new URL('./no-such-glue.mjs', import.meta.url), log: false });
  t.after(() => missing.shutdown());
  await assert.rejects(missing.execute(() => 1), { code: 'ERR_WASM_HOST_START' });
  assert.equal(await waitForThreadCount(baseline), baseline, 'the early host worker is gone');
  const stopped = newManager(t);
  const call = assert.rejects(stopped.execute(() => demo.add(1, 2)), { code: 'ERR_WASM_POOL_SHUT_DOWN' });
  await stopped.shutdown();
  await call;
  assert.equal(await waitForThreadCount(baseline), baseline, 'no host worker is left');
  // The load that failed is tried again, with a host booted again beside it.
  await assert.rejects(missing.execute(() => 1), { code: 'ERR_WASM_HOST_START' });
  assert.equal(await waitForThreadCount(baseline), baseline);
});

test('a first execute() boots the host while main still loads the module, not after', async (t) => {
  const demo = await loadDemo();
  const baseline = osThreadCount();
  const manager = newManager(t);
  // Reading and compiling the module takes milliseconds, asynchronously: the host worker's
  // thread exists before execute() returns, not once the load is done.
  const call = manager.execute(() => demo.add(1, 2));
  assert.equal(osThreadCount(), baseline + 1, 'the host worker was started with the load');
  assert.equal(await call, 3);
  assert.equal(manager.stats().starts, 1, 'that host is the one the call ran on');
  // A module that is not patched is refused without keeping the host booted for it.
  const unpatched = new ThreadPoolManager({ module: new URL('./helpers.js', import.meta.url), log: false });
  const before = osThreadCount();
  await assert.rejects(unpatched.execute(() => 1), /is not patched for wasm-threadpool/);
  assert.equal(await waitForThreadCount(before), before, 'the early host is gone');
  // Nor when the only execute() is aborted while the module loads: no session takes that host.
  const aborted = newManager(t);
  const controller = new AbortController();
  const call2 = aborted.execute(() => demo.add(1, 2), { signal: controller.signal });
  assert.equal(osThreadCount(), before + 1);
  controller.abort();
  await assert.rejects(call2, { name: 'AbortError' });
  assert.equal(await waitForThreadCount(before), before, 'the early host of an aborted first call is gone');
});

test('shutdown() rejects pending calls, later execute() says the manager is shut down, no thread is left', async (t) => {
  const demo = await loadDemo();
  const baseline = osThreadCount();
  const manager = newManager(t);
  await manager.execute(() => demo.noop());
  assert.ok(osThreadCount() > baseline, 'the host and its pool threads are running');
  const pending = assert.rejects(
    manager.execute(() => demo.slowProgress(2000)),
    (error) => error instanceof WasmShutdownError && error.code === 'ERR_WASM_POOL_SHUT_DOWN',
  );
  await waitFor(() => manager.stats().pending === 1, 'the call to reach the host');
  await manager.shutdown();
  await pending;
  await assert.rejects(manager.execute(() => demo.noop()), /shut down/);
  assert.equal(await waitForThreadCount(baseline), baseline, 'every worker thread is gone');
});

test('start() brings the pool up ahead of the first call', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  assert.equal(manager.stats().running, false);
  await manager.start();
  assert.equal(manager.stats().running, true);
  assert.equal(manager.stats().starts, 1);
  assert.equal(await manager.execute(() => demo.add(1, 2)), 3);
  assert.equal(manager.stats().starts, 1, 'the call used the started host');
  await manager.shutdown();
  await assert.rejects(manager.start(), /shut down/);
});

test('the host stops after idleTimeoutMs and restarts lazily', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { idleTimeoutMs: 20 });
  await manager.execute(() => demo.noop());
  await holdingLoop(once(manager, 'idle'));
  assert.equal(manager.stats().running, false);
  assert.equal(await manager.execute(() => demo.add(1, 1)), 2);
  assert.equal(manager.stats().starts, 2);
});

test('an idle manager never keeps the process alive', () => {
  const script = `
    import { ThreadPoolManager } from ${JSON.stringify(new URL('../../glue/index.js', import.meta.url).href)};
    const demo = await (await import(${JSON.stringify(DEMO_GLUE.href)})).default();
    const manager = new ThreadPoolManager({ module: new URL(${JSON.stringify(DEMO_GLUE.href)}), threads: 2, idleTimeoutMs: 60000 });
    console.log(await manager.execute(() => demo.add(20, 22)));
  `;
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), '42');
  assert.ok(Date.now() - started < 15000, 'exited without waiting for the 60 s idle timeout');
});

test('timeoutMs and AbortSignal reject the execute() and its pending calls', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await assert.rejects(manager.execute(() => demo.slowProgress(1500), { timeoutMs: 100 }), (e) => e.code === 'ERR_WASM_TIMEOUT');
  const controller = new AbortController();
  const aborted = manager.execute(() => demo.slowProgress(1500), { signal: controller.signal });
  setTimeout(() => controller.abort(new Error('user gave up')), 50);
  await assert.rejects(aborted, (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR');
  assert.equal(await manager.execute(() => demo.add(1, 2)), 3);
});

test('a timed-out call that is still running is stopped by replacing the host; calls queued behind it move over', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.start();
  const started = performance.now();
  const slow = assert.rejects(manager.execute(() => demo.slowProgress(5000), { timeoutMs: 150 }), (e) => e.code === 'ERR_WASM_TIMEOUT');
  const queued = manager.execute(() => demo.add(20, 22)); // sent after the slow call, queued behind it
  assert.equal(await queued, 42);
  await slow;
  assert.ok(performance.now() - started < 3000, 'the queued call did not wait for the 5 s computation');
  assert.equal(manager.stats().recycles, 1);
  assert.equal(await manager.execute(() => demo.add(1, 1)), 2);
});

test('an aborted call still queued in the host never runs', async (t) => {
  const demo = await loadDemo();
  const entries = [];
  const manager = newManager(t, { log: (entry) => entries.push(entry) });
  await manager.start();
  const running = manager.execute(() => demo.slowProgress(600));
  const controller = new AbortController();
  const queued = assert.rejects(manager.execute(() => demo.printFromThreads(2), { signal: controller.signal }), { name: 'AbortError' });
  setTimeout(() => controller.abort(), 50);
  await queued;
  assert.ok((await running) > 0, 'the running call of the other execute() finished normally');
  assert.equal(await manager.execute(() => demo.add(1, 1)), 2);
  // A marker call after it: the host runs calls in order, so once the marker's line has
  // arrived, any line of the aborted call would have arrived before it.
  await manager.execute(() => demo.printFromThreads(1));
  await waitFor(() => entries.some((e) => /^printf line 0/.test(e.message)), "the marker call's line");
  assert.equal(entries.filter((e) => /^printf line/.test(e.message)).length, 1, 'the aborted call did not run');
  assert.equal(manager.stats().recycles, 0, 'nothing to stop: the aborted call was not running');
});

test('an execute() aborted or timed out before its host is ready never runs its callback', async (t) => {
  const demo = await loadDemo();
  const baseline = osThreadCount();
  const manager = newManager(t);
  let ran = 0;
  const controller = new AbortController();
  const aborted = manager.execute(() => ++ran, { signal: controller.signal });
  controller.abort(); // the module is still loading
  await assert.rejects(aborted, { name: 'AbortError' });
  const timedOut = manager.execute(() => ++ran, { timeoutMs: 1 });
  await assert.rejects(timedOut, { code: 'ERR_WASM_TIMEOUT' });
  await new Promise((resolve) => setTimeout(resolve, 300)); // long enough for a host to start
  assert.equal(ran, 0, 'neither callback ran later');
  assert.equal(manager.stats().starts, 0, 'no host was started for them');
  assert.equal(await waitForThreadCount(baseline), baseline);
  assert.equal(await manager.execute(() => demo.add(1, 2)), 3, 'the manager works');
});

test('stats() counts calls and timings', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.execute(async () => {
    for (let i = 0; i < 10; i++) await demo.noop();
  });
  const stats = manager.stats();
  assert.equal(stats.calls, 10);
  assert.equal(stats.completed, 10);
  assert.equal(stats.starts, 1);
  assert.equal(stats.callTimings.count, 10);
  assert.ok(stats.callTimings.medianMs > 0);
  assert.ok(stats.lastStartMs > 0);
});

test('a routed call made after its execute() finished rejects with ERR_WASM_CALL_OUTSIDE_EXECUTE; nothing is sent', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  let later;
  let gate;
  const opened = new Promise((resolve) => {
    gate = resolve;
  });
  // The callback leaves work behind in its own async context, to run once execute() is over.
  const result = await manager.execute(async () => {
    later = opened.then(() => demo.add(2, 3));
    return demo.add(1, 1);
  });
  assert.equal(result, 2);
  const calls = manager.stats().calls;
  gate();
  const returned = await later.then(() => 'resolved', (error) => error);
  assert.equal(returned?.code, 'ERR_WASM_CALL_OUTSIDE_EXECUTE', `rejected with the code, got ${returned?.stack ?? returned}`);
  assert.equal(returned.name, 'WasmPoolError');
  assert.match(returned.message, /add\(\) was called after its execute\(\) finished/);
  assert.equal(manager.stats().calls, calls, 'nothing was sent');
  assert.equal(demo.add(2, 3), 5, 'outside any execute() context the same export runs locally');
});
