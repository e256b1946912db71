// What counts as alive. A call is hung only when, for the hang timeout in force, the host
// sent no heartbeat (its event loop is frozen during every call) and no thread finished a
// pool task or called wasmpool::report_progress(). Every finished task counts at once, so
// coarse tasks (each far longer than heartbeatTimeoutMs / 64) are never mistaken for a
// hang; code that cannot show progress runs with a per-call hangTimeoutMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testModule } from './helpers.js';
import { WasmHangError } from '../../glue/index.js';

const threadsModule = testModule('threads_module');

const loadThreadsModule = threadsModule.load;

const newManager = (t, options) => threadsModule.manager(t, options);

test('coarse pool tasks (each > heartbeatTimeoutMs / 64) running far longer than the timeout are not a hang', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t, { heartbeatTimeoutMs: 400, heartbeatIntervalMs: 100 });
  await manager.start();
  // 24 tasks of 60 ms on 2 threads: about 720 ms of work, nearly twice the timeout, with
  // no task ever taking more than 60 ms. Innocent calls queue behind it.
  const began = performance.now();
  const [done, after] = await manager.execute(() => Promise.all([mod.longPoolTasks(24, 60), mod.joinOneThread()]));
  assert.equal(done, 24);
  assert.equal(after, 42, 'the call queued behind it ran too');
  assert.ok(performance.now() - began > 400, 'the work outlasted the hang timeout');
  assert.equal(manager.stats().hangs, 0);
});

test('work that reports no progress is a hang after the timeout, and not with a per-call hangTimeoutMs', async (t) => {
  const mod = await loadThreadsModule();
  const manager = newManager(t, { heartbeatTimeoutMs: 300, heartbeatIntervalMs: 50 });
  await manager.start();
  const error = await manager.execute(() => mod.busyStdThread(1500)).catch((e) => e);
  assert.ok(error instanceof WasmHangError, `WasmHangError, got ${error?.stack ?? error}`);
  assert.equal(error.timeoutMs, 300);
  assert.match(error.message, /hangTimeoutMs/, 'the error names the per-call option');
  assert.equal(await manager.execute(() => mod.busyStdThread(700), { hangTimeoutMs: 5000 }), 700);
  assert.equal(await manager.execute(() => mod.busyStdThread(700), { hangTimeoutMs: Infinity }), 700);
  assert.equal(await manager.execute(() => mod.busyStdThread(700), { hangTimeoutMs: false }), 700);
  const short = await manager.execute(() => mod.busyStdThread(1500), { hangTimeoutMs: 200 }).catch((e) => e);
  assert.ok(short instanceof WasmHangError);
  assert.equal(short.timeoutMs, 200);
});

test('execute() checks hangTimeoutMs', async (t) => {
  const manager = newManager(t, {});
  await assert.rejects(manager.execute(() => 1, { hangTimeoutMs: 0 }), /hangTimeoutMs must be an integer from 10/);
  await assert.rejects(manager.execute(() => 1, { hangTimeoutMs: '5s' }), RangeError);
  await assert.rejects(manager.execute(() => 1, { hangTimout: 5 }), /unknown execute\(\) option "hangTimout"/);
});
