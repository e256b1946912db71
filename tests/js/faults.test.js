// Real faults, provoked for real: each must become a clear error on main, with no call
// left pending, main responsive throughout, and a working pool on the next call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WasmHangError, WasmPanicError } from '../../glue/index.js';
import { assertEveryCallAnswered, holdingLoop, loadDemo, measureLag, newManager, osThreadCount, track, waitFor, waitForThreadCount } from './helpers.js';

// fault kind -> [the kind the error reports, what its message says]
const CRASHES = {
  trap: ['trap', /unreachable/],
  abort: ['abort', /Aborted/],
  oob: ['oob', /out of bounds/],
  'stack-overflow': ['stack-overflow', /stack overflow/i],
  terminate: ['terminate', /std::terminate\(\) was called/],
  uncaught: ["exception", /uncaught C\+\+ exception: exception escaped a noexcept pool task \(std::logic_error\)/],
  oom: ['out-of-memory', /memory allocation failed/],
};
const MAX_LAG_MS = 250; // generous: a blocked main thread would show seconds

const baseline = osThreadCount();

function assertPanic(error, kind, pattern, { pool }) {
  assert.ok(error instanceof WasmPanicError, `expected WasmPanicError, got ${error?.stack ?? error}`);
  assert.equal(error.code, 'ERR_WASM_PANIC');
  assert.equal(error.kind, kind);
  assert.match(error.panicMessage, pattern);
  assert.match(error.message, new RegExp(`WebAssembly ${kind} in (pool thread \\d|the host thread)`));
  if (pool) assert.ok(error.thread >= 0 && error.thread < 2, `pool thread index, got ${error.thread}`);
  else assert.equal(error.thread, -1);
}

for (const [fault, [kind, pattern]] of Object.entries(CRASHES)) {
  for (const where of ['pool', 'host']) {
    test(`${fault} on ${where === 'pool' ? 'a pool thread while the host waits' : 'the host thread'}: panic, then a fresh pool`, async (t) => {
      const demo = await loadDemo();
      const manager = newManager(t);
      await manager.execute(() => demo.noop());
      const call = track(manager.execute(() => demo.fault(fault, where, 0)));
      const { maxLagMs } = await measureLag(() => call.promise);
      assertPanic(call.error, kind, pattern, { pool: where === 'pool' });
      if (where === 'pool') assert.match(call.error.wasmStack, /fault_now|wasm-function/, 'the stack names wasm functions');
      assert.ok(maxLagMs < MAX_LAG_MS, `main stayed responsive (max lag ${maxLagMs.toFixed(1)} ms)`);
      assertEveryCallAnswered(manager);
      assert.equal(await manager.execute(() => demo.parallelSum(1000)), 499500, 'the next call works');
      assert.equal(manager.stats().crashes, 1);
      assert.equal(manager.stats().restarts, 1);
    });
  }

  test(`${fault} on a pool thread while the host is idle: crash event, then a fresh pool`, async (t) => {
    const demo = await loadDemo();
    const manager = newManager(t);
    const crashed = once(manager, 'crash');
    assert.equal(await manager.execute(() => demo.fault(fault, 'idle', 30)), undefined);
    const [error] = await holdingLoop(crashed);
    assertPanic(error, kind, pattern, { pool: true });
    assert.equal(await manager.execute(() => demo.add(2, 2)), 4);
  });
}

for (const fault of Object.keys(CRASHES)) {
  test(`${fault} under 8 concurrent execute() calls: only the faulting one rejects, the 7 queued behind it succeed on a fresh host`, async (t) => {
    const demo = await loadDemo();
    const manager = newManager(t);
    await manager.start();
    const calls = Array.from({ length: 8 }, (_, i) =>
      track(manager.execute(() => (i === 0 ? demo.fault(fault, 'pool', 0) : demo.add(i, i)))));
    const { maxLagMs } = await measureLag(() => Promise.all(calls.map((c) => c.promise)));
    assert.ok(calls[0].error instanceof WasmPanicError, String(calls[0].error));
    assert.equal(calls[0].error.kind, CRASHES[fault][0]);
    assert.deepEqual(calls.slice(1).map((c) => c.error ?? c.value), [2, 4, 6, 8, 10, 12, 14], 'no innocent call failed');
    assert.ok(maxLagMs < MAX_LAG_MS, `max lag ${maxLagMs.toFixed(1)} ms`);
    assertEveryCallAnswered(manager);
    assert.equal(manager.stats().crashes, 1);
    assert.equal(manager.stats().starts, 2, 'the innocent calls ran on the replacement');
    assert.equal(await manager.execute(() => demo.add(1, 1)), 2);
  });
}

test('a recoverable C++ exception under 8 concurrent execute() calls rejects each call alone', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  const calls = Array.from({ length: 8 }, (_, i) =>
    track(manager.execute(() => (i % 2 ? demo.fault('exception', 'pool', 0) : demo.parallelSum(1000)))));
  await Promise.all(calls.map((c) => c.promise));
  assertEveryCallAnswered(manager);
  calls.forEach((call, i) => {
    if (i % 2) assert.equal(call.error?.code, 'ERR_WASM_CPP_EXCEPTION');
    else assert.equal(call.value, 499500);
  });
  assert.equal(manager.stats().crashes, 0);
  assert.equal(manager.stats().starts, 1, 'the same host served them all');
});

test('a host exit under 8 concurrent execute() calls rejects only the call that ran', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.start();
  const calls = Array.from({ length: 8 }, (_, i) =>
    track(manager.execute(() => (i === 0 ? demo.fault('host-exit', 'host', 0) : demo.add(i, i)))));
  await Promise.all(calls.map((c) => c.promise));
  assertEveryCallAnswered(manager);
  assert.equal(calls[0].error?.kind, 'host-exit');
  assert.deepEqual(calls.slice(1).map((c) => c.error ?? c.value), [2, 4, 6, 8, 10, 12, 14], 'no innocent call failed');
  assert.equal(await manager.execute(() => demo.add(1, 1)), 2);
});

for (const fault of ['hang', 'deadlock']) {
  for (const where of ['pool', 'host']) {
    test(`${fault} on ${where}: the watchdog rejects with a hang error and the next call works`, async (t) => {
      const demo = await loadDemo();
      const manager = newManager(t, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 300 });
      await manager.execute(() => demo.noop());
      const started = performance.now();
      const call = track(manager.execute(() => demo.fault(fault, where, 0)));
      const { maxLagMs } = await measureLag(() => call.promise);
      const detectedMs = performance.now() - started;
      assert.ok(call.error instanceof WasmHangError, String(call.error));
      assert.equal(call.error.code, 'ERR_WASM_HANG');
      assert.match(call.error.message, /no progress and sent no heartbeat for \d+ ms/);
      assert.ok(detectedMs >= 300, `not before the timeout (${detectedMs.toFixed(0)} ms)`);
      assert.ok(maxLagMs < MAX_LAG_MS, `max lag ${maxLagMs.toFixed(1)} ms`);
      assertEveryCallAnswered(manager);
      assert.equal(await manager.execute(() => demo.add(3, 4)), 7);
      assert.equal(manager.stats().hangs, 1);
    });
  }
}

for (const fault of ['hang', 'deadlock']) {
  test(`${fault} under 8 concurrent execute() calls: the hung one rejects, the 7 queued behind it succeed on a fresh host`, async (t) => {
    const demo = await loadDemo();
    const manager = newManager(t, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 300 });
    await manager.start();
    const calls = Array.from({ length: 8 }, (_, i) =>
      track(manager.execute(() => (i === 0 ? demo.fault(fault, 'pool', 0) : demo.add(i, i)))));
    await Promise.all(calls.map((c) => c.promise));
    assertEveryCallAnswered(manager);
    assert.ok(calls[0].error instanceof WasmHangError, String(calls[0].error));
    assert.deepEqual(calls.slice(1).map((c) => c.error ?? c.value), [2, 4, 6, 8, 10, 12, 14], 'no innocent call failed');
    assert.equal(manager.stats().hangs, 1);
    assert.equal(await manager.execute(() => demo.add(1, 1)), 2);
  });
}

test('a long computation that makes progress is never declared hung', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 200 });
  const done = await manager.execute(() => demo.slowProgress(1500));
  assert.ok(done > 0);
  assert.equal(manager.stats().hangs, 0);
});

test('the host process itself exiting is a crash of the host', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await assert.rejects(manager.execute(() => demo.fault('host-exit', 'host', 0)), (error) => {
    assert.ok(error instanceof WasmPanicError);
    assert.equal(error.kind, 'host-exit');
    assert.match(error.message, /exited unexpectedly with code 7/);
    return true;
  });
  assert.equal(await manager.execute(() => demo.add(5, 5)), 10);
});

test('standby: a crash is replaced by the idle second host at once', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { standby: true });
  await manager.execute(() => demo.noop());
  // Wait for the standby host to be up (it starts after the first one is ready).
  await waitFor(() => manager.stats().standby === 'ready', 'the standby host');
  await assert.rejects(manager.execute(() => demo.fault('trap', 'pool', 0)), WasmPanicError);
  const began = performance.now();
  assert.equal(await manager.execute(() => demo.add(2, 3)), 5);
  const restartMs = performance.now() - began;
  assert.equal(manager.stats().restarts, 1);
  assert.equal(manager.stats().starts, 1, 'the replacement was the standby host, not a new start');
  t.diagnostic(`call after the crash answered in ${restartMs.toFixed(1)} ms`);
});

test('after every fault test shuts down, no worker thread is left', async () => {
  assert.equal(await waitForThreadCount(baseline, 5000), baseline);
});
