// In-host jobs: manager.run(job, input) runs a JS module next to the host's instance, so
// synchronous wrappers, embind classes and pointers work; only the input and the result
// cross. Faults keep execute()'s semantics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { WasmCallError, WasmHangError, WasmPanicError, WasmTimeoutError } from '../../glue/index.js';
import { once } from 'node:events';
import { countOutcomes, measureLag, quietAfterRestart, testModule } from './helpers.js';

const threadsModule = testModule('threads_module');
const job = (name) => new URL(`./fixtures/jobs/${name}.mjs`, import.meta.url);

const newManager = (t, options) => threadsModule.manager(t, options);

test('a job uses embind classes, synchronous calls and heap pointers in the host', async (t) => {
  const manager = newManager(t);
  const result = await manager.run(job('embind-box'), { value: 2.5, values: [1, 2, 3.5] });
  assert.deepEqual(result, { unboxed: 2.5, method: 2.5, sum: 6.5, threads: 42 });
  assert.equal(manager.stats().runs, 1);
  // Also by path, and again on the same host (the job module is loaded once).
  assert.deepEqual(await manager.run(fileURLToPath(job('embind-box')), { value: 1, values: [] }),
    { unboxed: 1, method: 1, sum: 0, threads: 42 });
});

test('input moves with transferList', async (t) => {
  const manager = newManager(t);
  const values = new Float64Array([4, 5]);
  const result = await manager.run(job('embind-box'), { value: 0, values }, { transferList: [values.buffer] });
  assert.equal(result.sum, 9);
  assert.equal(values.byteLength, 0, 'the buffer was moved, not copied');
});

test('a trap in a job is a WasmPanicError; main stays responsive; the next job runs on a fresh host', async (t) => {
  const manager = newManager(t);
  const restarted = once(manager, 'restart');
  const ran = manager.run(job('faulty'), { what: 'trap' });
  const outcome = countOutcomes(ran);
  const { result: error, maxLagMs } = await measureLag(() => ran.catch((e) => e));
  assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
  assert.equal(error.kind, 'trap');
  assert.ok(error.pthread > 0);
  assert.ok(maxLagMs < 250);
  await quietAfterRestart(restarted);
  assert.deepEqual([outcome.resolved, outcome.rejected], [0, 1]);
  const { calls, completed, failed } = manager.stats();
  assert.deepEqual({ calls, completed, failed }, { calls: 1, completed: 0, failed: 1 }, 'nothing of the failed host left pending');
  assert.equal(await manager.run(job('faulty'), { what: 'ok' }), 'ok');
  assert.equal(manager.stats().crashes, 1);
  // A job's modules may keep the dead instance: a host that ran one is not renewed.
  assert.equal(manager.stats().warmRestarts, 0);
});

test('a JS error in a job rejects that job only; the host stays up', async (t) => {
  const manager = newManager(t);
  const error = await manager.run(job('faulty'), { what: 'throw' }).catch((e) => e);
  assert.ok(error instanceof WasmCallError);
  assert.equal(error.originalName, 'RangeError');
  assert.equal(error.jobUrl, job('faulty').href);
  assert.match(error.message, /the job .*faulty\.mjs failed: the job threw this/);
  const notCloneable = await manager.run(job('faulty'), { what: 'function' }).catch((e) => e);
  assert.equal(notCloneable.code, 'ERR_WASM_RESULT_NOT_CLONEABLE');
  const noDefault = await manager.run(job('no-default'), null).catch((e) => e);
  assert.equal(noDefault.code, 'ERR_WASM_JOB_NOT_A_FUNCTION');
  assert.equal(await manager.run(job('faulty'), { what: 'still up' }), 'still up');
  assert.equal(manager.stats().crashes + manager.stats().restarts, 0);
});

test('hang and timeout: a silent job is a hang; a timed-out job is stopped by recycling the host', async (t) => {
  const manager = newManager(t, { heartbeatTimeoutMs: 300, heartbeatIntervalMs: 50 });
  const hang = await manager.run(job('faulty'), { what: 'busy', ms: 2000 }).catch((e) => e);
  assert.ok(hang instanceof WasmHangError);
  assert.equal(await manager.run(job('faulty'), { what: 'busy', ms: 500 }, { hangTimeoutMs: Infinity }), 500);
  const timedOut = await manager.run(job('faulty'), { what: 'busy', ms: 3000 }, { timeoutMs: 100, hangTimeoutMs: Infinity })
    .catch((e) => e);
  assert.ok(timedOut instanceof WasmTimeoutError);
  assert.equal(manager.stats().recycles, 1);
  // An async job keeps the queue: calls sent meanwhile wait their turn.
  const [paused, after] = await Promise.all([
    manager.run(job('faulty'), { what: 'pause', ms: 50 }),
    manager.run(job('faulty'), { what: 'next' }),
  ]);
  assert.deepEqual([paused, after], ['paused', 'next']);
});

test('a run() aborted while its host starts is never sent', async (t) => {
  const manager = newManager(t);
  const controller = new AbortController();
  const aborted = manager.run(job('faulty'), { what: 'after' }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 5); // the host takes ~100 ms to start
  await assert.rejects(aborted, { name: 'AbortError' });
  await manager.start();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(manager.stats().calls, 0, 'the job was not sent once the host was ready');
  assert.equal(await manager.run(job('faulty'), { what: 'after' }), 'after');
  // Aborted in the same turn: not even a host is started for it.
  const other = newManager(t);
  const stopped = new AbortController();
  const never = other.run(job('faulty'), { what: 'after' }, { signal: stopped.signal });
  stopped.abort();
  await assert.rejects(never, { name: 'AbortError' });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(other.stats().starts, 0);
});

test('glue a job loads itself is covered too: its threads start in the call, a trap on one is a WasmPanicError', async (t) => {
  const manager = newManager(t);
  const input = { glue: new URL('../../build/wasm/tests/modules/threads_module.mjs', import.meta.url).href };
  assert.equal(await manager.run(job('own-glue'), { ...input, what: 'join' }), 42);
  const error = await manager.run(job('own-glue'), { ...input, what: 'trap' }).catch((e) => e);
  assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
  assert.equal(error.kind, 'trap');
  assert.equal(error.source, 'port', "reported by the dying thread's own channel");
  assert.ok(error.pthread > 0);
  assert.equal(await manager.run(job('faulty'), { what: 'after' }), 'after');
});

test('run() checks its arguments', async (t) => {
  const manager = newManager(t);
  await assert.rejects(manager.run('relative/job.mjs'), /absolute path or a file: URL/);
  await assert.rejects(manager.run(new URL('https://example.invalid/job.mjs')), /file: URL/);
  await assert.rejects(manager.run(job('faulty'), {}, { transferList: 'x' }), /transferList must be an array/);
  await assert.rejects(manager.run(job('faulty'), {}, { retries: 2 }), /unknown execute\(\) option "retries"/);
});
