// How a death is noticed, for the paths the fault tests do not isolate: a host-side
// "a thread died while I waited" with no thread notice (the deferred window), a notice that
// arrives inside that window, and crashDetection 'heartbeat-only', where only the
// watchdog decides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThreadPoolManager, WasmHangError, WasmPanicError } from '../../glue/index.js';
import { spawnSync } from 'node:child_process';
import { DEMO_GLUE_PATH, loadDemo, newManager } from './helpers.js';

const UNWIND_JOB = new URL('./fixtures/jobs/unwind.mjs', import.meta.url);
// DEFERRED_CRASH_MS in glue/main/host-session.js
const DEFERRED_CRASH_MS = 250;

// A host for jobs only (no module: no crash record, so nothing more precise than the
// host's own report), and when main heard the job's last line, which the host sends just
// before its deferred crash, on the same channel.
function jobHost(t) {
  const heard = { unwindAt: undefined };
  const manager = new ThreadPoolManager({ threads: 1, log: (entry) => {
    if (entry.message.includes('unwind job: throwing unwind')) heard.unwindAt = performance.now();
  } });
  t.after(() => manager.shutdown());
  return { manager, heard };
}

test('a deferred crash from the host with no thread notice: WasmPanicError of kind unknown after the 250 ms window', async (t) => {
  const { manager, heard } = jobHost(t);
  await manager.start();
  const error = await manager.run(UNWIND_JOB, {}).catch((e) => e);
  const settledAt = performance.now();
  assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
  assert.equal(error.code, 'ERR_WASM_PANIC');
  assert.equal(error.kind, 'unknown');
  assert.equal(error.source, 'host');
  assert.match(error.panicMessage, /a thread died while the host waited in the job .*unwind\.mjs/);
  assert.ok(heard.unwindAt !== undefined, 'the job\'s line arrived');
  const waited = settledAt - heard.unwindAt;
  assert.ok(waited >= DEFERRED_CRASH_MS - 5, `not before the window closed (${waited.toFixed(0)} ms)`);
  assert.ok(waited < DEFERRED_CRASH_MS + 1000, `soon after it (${waited.toFixed(0)} ms)`);
  assert.equal(manager.stats().crashes, 1);
});

test('a thread notice arriving inside the window wins: the precise kind from the thread, before the window ends', async (t) => {
  const { manager, heard } = jobHost(t);
  await manager.start();
  const error = await manager.run(UNWIND_JOB, { notice: 30 }).catch((e) => e);
  const settledAt = performance.now();
  assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
  assert.equal(error.kind, 'oob', 'the dying worker\'s own notice, not the host\'s unknown');
  assert.equal(error.source, 'port');
  assert.match(error.panicMessage, /memory access out of bounds/);
  assert.ok(heard.unwindAt !== undefined, 'the job\'s line arrived');
  const waited = settledAt - heard.unwindAt;
  assert.ok(waited < DEFERRED_CRASH_MS, `settled by the notice inside the window (${waited.toFixed(0)} ms after the host's report)`);
  assert.equal(manager.stats().crashes, 1);
});

test("crashDetection 'heartbeat-only' ignores the crash notices: a pool-thread trap is a hang found by the watchdog", async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { crashDetection: 'heartbeat-only', heartbeatIntervalMs: 20, heartbeatTimeoutMs: 300 });
  await manager.execute(() => demo.noop());
  const began = performance.now();
  const error = await manager.execute(() => demo.fault('trap', 'pool', 0)).catch((e) => e);
  const elapsed = performance.now() - began;
  assert.ok(error instanceof WasmHangError, `WasmHangError, got ${error?.stack ?? error}`);
  assert.equal(error.code, 'ERR_WASM_HANG');
  assert.equal(error.during, 'call');
  assert.equal(error.timeoutMs, 300);
  assert.ok(elapsed >= 300, `only after the heartbeat timeout (${elapsed.toFixed(0)} ms)`);
  assert.deepEqual([manager.stats().crashes, manager.stats().hangs], [0, 1]);
  assert.equal(await manager.execute(() => demo.add(2, 2)), 4, 'the next call works');
});

test("the same trap with crashDetection 'fast' (the default): the thread's notice, well before a heartbeat timeout", async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 300 });
  await manager.execute(() => demo.noop());
  const began = performance.now();
  const error = await manager.execute(() => demo.fault('trap', 'pool', 0)).catch((e) => e);
  const elapsed = performance.now() - began;
  assert.ok(error instanceof WasmPanicError, `WasmPanicError, got ${error?.stack ?? error}`);
  assert.equal(error.kind, 'trap');
  assert.ok(elapsed < 300, `${elapsed.toFixed(0)} ms`);
});

test("crashDetection 'heartbeat-only': a process with nothing else to do waits for the watchdog's verdict", () => {
  const script = `
    import { ThreadPoolManager } from ${JSON.stringify(new URL('../../glue/index.js', import.meta.url).href)};
    const glue = ${JSON.stringify(DEMO_GLUE_PATH)};
    const demo = await (await import(glue)).default();
    const manager = new ThreadPoolManager({ module: glue, threads: 2, log: false, crashDetection: 'heartbeat-only',
      heartbeatIntervalMs: 20, heartbeatTimeoutMs: 300 });
    await manager.execute(() => demo.noop());
    const error = await manager.execute(() => demo.fault('trap', 'pool', 0)).catch((e) => e);
    console.log(error.code);
    await manager.shutdown();
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.stdout.trim(), 'ERR_WASM_HANG', `exit ${child.status}; stderr: ${child.stderr.slice(-300)}`);
  assert.equal(child.status, 0);
});
