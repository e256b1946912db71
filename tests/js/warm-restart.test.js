// Warm restart (docs/ARCHITECTURE.md, "Warm restart"): after a crash the host worker and its
// pool workers are kept and abandoned back to their event loops; the host keeps its
// instance and resets its memory to how it was once the instance was made, and the workers
// whose threads did not crash keep their glue. What must hold: the crash is still the same
// clear error, the next call works on the renewed host, with its heap and globals as they
// were made, a worker that does not come back is replaced, a host that cannot read the renew in
// time is replaced by a new one, 'cold' keeps the old behaviour, and no thread is left
// behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { WasmPanicError } from '../../glue/index.js';
import { DEMO_GLUE, assertEveryCallAnswered, holdingLoop, loadDemo, newManager, osThreadCount, testModule, waitForThreadCount } from './helpers.js';

const baseline = osThreadCount();

async function crash(manager, demo, kind = 'trap', where = 'pool') {
  const restarted = once(manager, 'restart');
  const error = await manager.execute(() => demo.fault(kind, where, 0)).catch((e) => e);
  assert.ok(error instanceof WasmPanicError, `expected WasmPanicError, got ${error?.stack ?? error}`);
  // A replacement is started in the background and keeps no process alive by itself.
  const [info] = await holdingLoop(restarted);
  return { error, info };
}

test('a crash renews the same workers: restart says warm, the next call works, threads stay as many', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  assert.equal(await manager.execute(() => demo.parallelSum(1e5)), 4999950000);
  const running = osThreadCount();
  for (const kind of ['trap', 'abort', 'oob', 'stack-overflow', 'terminate', 'uncaught', 'oom']) {
    const { error, info } = await crash(manager, demo, kind);
    assert.equal(info.warm, true, `${kind}: renewed, not a new host`);
    assert.equal(error.thread >= 0, true, `${kind}: a pool thread's crash (${error.message})`);
    assert.equal(await manager.execute(() => demo.parallelSum(1e5)), 4999950000, `${kind}: the renewed pool computes`);
    assert.equal(await manager.execute(() => demo.threadCount()), 2);
    assert.equal(osThreadCount(), running, `${kind}: the same OS threads, no worker started or left`);
  }
  const stats = manager.stats();
  assert.equal(stats.crashes, 7);
  assert.equal(stats.restarts, 7);
  assert.equal(stats.warmRestarts, 7);
  assertEveryCallAnswered(manager);
});

test('a fault of the host thread itself is renewed too, in the same instance', async (t) => {
  const demo = await loadDemo();
  const messages = [];
  process.env.WASMPOOL_TRACE_START = '1';
  const manager = newManager(t, { log: (entry) => messages.push(entry.message) });
  try {
    await manager.start();
  } finally {
    delete process.env.WASMPOOL_TRACE_START;
  }
  // Each keeps the instance, its memory reset in place: a trap leaves the host's glue as
  // it was, and what abort() left in it is forgotten with the reset.
  for (const kind of ['trap', 'abort', 'trap']) {
    const { error, info } = await crash(manager, demo, kind, 'host');
    assert.equal(error.thread, -1, kind);
    assert.equal(info.warm, true, kind);
    assert.equal(await manager.execute(() => demo.add(2, 3)), 5, kind);
    assert.equal(await manager.execute(() => demo.parallelSum(1e5)), 4999950000, kind);
  }
  assert.equal(messages.filter((m) => /memory reset/.test(m)).length, 3, messages.join('\n'));
});

test("restart: 'cold' starts a new host after a crash, as before", async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { restart: 'cold' });
  assert.equal(manager.options.restart, 'cold');
  await manager.execute(() => demo.noop());
  const { info } = await crash(manager, demo);
  assert.equal(info.warm, false);
  assert.equal(await manager.execute(() => demo.add(2, 3)), 5);
  assert.equal(manager.stats().warmRestarts, 0);
});

test('options.restart is checked', () => {
  assert.throws(() => newManager({ after() {} }, { restart: 'hot' }), /options\.restart must be one of warm, cold, got hot/);
});

const replacedWorkers = (entries) => entries.filter((e) => e.level === 'warn' && /warm restart: \d+ of \d+ workers/.test(e.message));

test('a crash while the other pool thread works through its share of a render reuses every worker', async (t) => {
  // The surviving worker is inside join after join of its own share (no wait loop between
  // tiles): it leaves at its next job, not when the share is done.
  const demo = await loadDemo();
  const entries = [];
  const manager = newManager(t, { log: (entry) => entries.push(entry) });
  await manager.execute(() => demo.noop());
  for (let i = 0; i < 3; i++) {
    const restarted = once(manager, 'restart');
    const error = await manager.execute(() => demo.renderMandelbrot(1600, 1000, 600, 32, false, 'trap')).catch((e) => e);
    assert.ok(error instanceof WasmPanicError);
    assert.equal((await holdingLoop(restarted))[0].warm, true);
  }
  assert.equal((await manager.execute(() => demo.renderMandelbrot(64, 64, 100, 32, false, ''))).length, 64 * 64 * 4);
  assert.deepEqual(replacedWorkers(entries), [], 'no worker had to be replaced');
});

test('a pool thread stuck in a task is not waited for: its worker is replaced, the rest renewed', async (t) => {
  const demo = await loadDemo();
  const entries = [];
  const manager = newManager(t, { log: (entry) => entries.push(entry) });
  await manager.execute(() => demo.noop());
  // A pool thread spins for good inside a task nobody waits for (no call is pending).
  await manager.execute(() => demo.fault('hang', 'idle', 0));
  const { info } = await crash(manager, demo);
  assert.equal(info.warm, true);
  assert.equal(await manager.execute(() => demo.parallelSum(1e5)), 4999950000);
  assert.equal(await manager.execute(() => demo.threadCount()), 2);
  // The spinning pool thread's worker at least; said as a warning.
  assert.match(replacedWorkers(entries)[0]?.message ?? '', /warm restart: [12] of \d+ workers of the crashed instance could not be reused/);
  await manager.shutdown();
  assert.equal(await waitForThreadCount(baseline), baseline, 'the stuck thread went with its terminated worker');
});

test('a host still busy in the dead instance when asked to renew is replaced by a new host', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.execute(() => demo.noop());
  const restarted = once(manager, 'restart');
  // A pool thread traps 50 ms from now, while the host thread spins in code that never
  // waits on the pool, so it never reads 'renew'.
  await manager.execute(() => demo.fault('trap', 'idle', 50));
  const busy = await manager.execute(() => demo.fault('hang', 'host', 0)).catch((e) => e);
  assert.ok(busy instanceof WasmPanicError, 'the running call fails with the crash');
  const [info] = await holdingLoop(restarted);
  assert.equal(info.warm, false, 'a new host after RENEW_ACK_MS');
  assert.equal(await manager.execute(() => demo.add(2, 3)), 5);
  assertEveryCallAnswered(manager);
});

test('the instance is kept and its memory put back as it was made: a heap the dead generation corrupted works again', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  // The pool's threads allocate as they start, and calls are taken before they run: the
  // heap is compared once they do (start() waits for them).
  await manager.start();
  const size = 1 << 20;
  const first = await manager.execute(() => demo._malloc(size));
  // Past the initial 64 MiB: the memory grows.
  const big = await manager.execute(() => demo._malloc(96 << 20));
  const grown = manager.view(Uint8Array, 0, 1).buffer.byteLength;
  assert.ok(grown > 64 << 20);
  // The allocator's own words around the first block, overwritten as a wild write would.
  manager.view(Uint8Array, first - 16, 16).fill(0xff);
  manager.view(Uint8Array, first + size, 16).fill(0xff);
  await crash(manager, demo);
  await manager.start();
  assert.equal(manager.view(Uint8Array, 0, 1).buffer.byteLength, grown, 'the same memory, at the size it grew to');
  assert.equal(await manager.execute(() => demo._malloc(size)), first, 'the heap is as it was made: the same first block');
  assert.equal(await manager.execute(() => demo._malloc(96 << 20)), big);
  await manager.execute(async () => {
    await demo._free(big);
    await demo._free(first);
  });
  assert.equal(await manager.execute(() => demo.sortCheck(1e5, 7)), true, 'the module allocates and computes');
  assert.equal(await manager.execute(() => demo.parallelSum(1e5)), 4999950000);
  assertEveryCallAnswered(manager);
});

test('every worker keeps its glue after a trap, an abort() and an exception ended by terminate; C++ exceptions work after each', async (t) => {
  const demo = await loadDemo();
  const messages = [];
  // The host's start trace (host.cjs) names what the renew did with each worker; a worker
  // reads the environment when it is created.
  process.env.WASMPOOL_TRACE_START = '1';
  const manager = newManager(t, { threads: 3, log: (entry) => messages.push(entry.message) });
  try {
    await manager.start();
  } finally {
    delete process.env.WASMPOOL_TRACE_START;
  }
  const renews = () => messages.filter((m) => /workers recycled/.test(m));
  // A trap changes nothing in the glue's JavaScript; abort() sets ABORT and EXITSTATUS, and
  // an exception that ended in std::terminate leaves the JS exception bookkeeping: the
  // pthread hooks put those back (forgetCrashState), so the crashed thread's worker is kept
  // too. A C++ exception thrown and caught on the pool afterwards shows the bookkeeping sane.
  for (const [i, kind] of ['trap', 'abort', 'uncaught'].entries()) {
    await crash(manager, demo, kind);
    assert.equal(await manager.execute(() => demo.threadCount()), 3, kind);
    assert.match(renews()[i] ?? '', /workers recycled \+[\d.]+ ms \(3 kept, 0 recycled or replaced\)/, `${kind}:\n${messages.join('\n')}`);
    const thrown = await manager.execute(() => demo.fault('exception', 'pool', 0)).catch((e) => e);
    assert.equal(thrown.code, 'ERR_WASM_CPP_EXCEPTION', `${kind}: then a C++ exception is an ordinary error (${thrown.message})`);
    assert.equal(await manager.execute(() => demo.parallelSum(1e5)), 4999950000, kind);
  }
  assert.equal(messages.filter((m) => /memory reset/.test(m)).length, 3, 'each renew reset the memory in place');
});

// A pool thread that crashes wakes the host thread at the futex word it says it waits on
// (latch.hpp, runtime_thread_wait_word; the pthread hooks' wakeRuntimeThread), so the host is
// back on its event loop for the renew at once, not at the end of its 2 ms wait slice. What
// can be seen from here: the word names a futex word while the host waits on the pool, and
// none otherwise, before a crash and after the renew.
test('the host says which futex word it waits on for the pool, and only while it waits', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  const watch = async () => manager.execute(async () => {
    const { runtimeThreadWait } = await demo.runtimeInfo();
    assert.ok(Number.isInteger(runtimeThreadWait) && runtimeThreadWait > 0, `an address (${runtimeThreadWait})`);
    const word = manager.view(Uint32Array, runtimeThreadWait, 1);
    assert.equal(Atomics.load(word, 0), 0, 'no wait between calls');
    let settled = false;
    const render = demo.renderMandelbrot(1200, 1200, 3000, 32, false, '').finally(() => {
      settled = true;
    });
    const seen = new Set();
    while (!settled) {
      seen.add(Atomics.load(word, 0));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await render;
    const waits = [...seen].filter((address) => address !== 0);
    assert.equal(waits.length, 1, `one word during the render (saw ${[...seen]})`);
    assert.ok(waits[0] % 4 === 0 && waits[0] < word.buffer.byteLength, 'an aligned address in the memory');
    assert.equal(Atomics.load(word, 0), 0, 'none once the call returned');
  });
  await watch();
  await crash(manager, demo, 'trap');
  await watch();
});

test('a module whose static initialisers started a thread is renewed with a new instance and memory instead', () => {
  // In a process of its own: the module's instance on this thread (which routed calls go
  // through) starts that thread here too, for good.
  const { glue } = testModule('init_thread_module');
  const script = `
    import { once } from 'node:events';
    import { ThreadPoolManager } from ${JSON.stringify(new URL('../../glue/index.js', import.meta.url).href)};
    const mod = await (await import(${JSON.stringify(glue)})).default();
    const warnings = [];
    const manager = new ThreadPoolManager({ module: ${JSON.stringify(glue)}, threads: 2,
      log: (entry) => { if (entry.level === 'warn') warnings.push(entry.message); } });
    await manager.start();
    const before = await manager.execute(() => mod.add(20, 22));
    const restarted = once(manager, 'restart');
    const error = await manager.execute(() => mod.trap()).catch((e) => e);
    const [info] = await restarted;
    const after = await manager.execute(() => mod.add(2, 3));
    await manager.shutdown();
    console.log(JSON.stringify({ before, code: error.code, warm: info.warm, after, warnings }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  const seen = JSON.parse(child.stdout.trim().split('\n').at(-1));
  assert.equal(seen.before, 42);
  assert.equal(seen.code, 'ERR_WASM_PANIC');
  assert.equal(seen.warm, true, 'the same host worker');
  assert.equal(seen.after, 5, 'a new instance, whose initialisers ran again');
  // The initialisers' thread never returns to its event loop: its worker is replaced.
  assert.match(seen.warnings.join('\n'), /warm restart: 1 of \d+ workers of the crashed instance could not be reused/);
});

test('start() on a replacement that takes calls but whose pool threads still start keeps the process alive until they run', () => {
  // A replacement starts in the background (it keeps no process alive by itself) and takes
  // calls before its pool's threads run (a new host's take ~50 ms to); start() waits for
  // them, and nothing else here keeps Node running.
  const script = `
    import { once } from 'node:events';
    import { ThreadPoolManager } from ${JSON.stringify(new URL('../../glue/index.js', import.meta.url).href)};
    const demo = await (await import(${JSON.stringify(DEMO_GLUE.href)})).default();
    const manager = new ThreadPoolManager({ module: ${JSON.stringify(DEMO_GLUE.href)}, threads: 2, log: false, restart: 'cold' });
    await manager.start();
    const restarted = once(manager, 'restart');
    const code = await manager.execute(() => demo.fault('abort', 'pool', 0)).catch((e) => e.code);
    await restarted;
    await manager.start();
    const threads = await manager.execute(() => demo.threadCount());
    await manager.shutdown();
    console.log(JSON.stringify({ code, threads }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').at(-1) || 'null'), { code: 'ERR_WASM_PANIC', threads: 2 });
});

test('calls queued behind a crash run on the renewed host, unchanged', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.execute(() => demo.noop());
  const crashing = manager.execute(() => demo.fault('trap', 'pool', 0)).catch((e) => e);
  const queued = Array.from({ length: 20 }, (_, i) => manager.execute(() => demo.add(i, 1)));
  assert.ok((await crashing) instanceof WasmPanicError);
  assert.deepEqual(await Promise.all(queued), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(manager.stats().warmRestarts, 1);
});

test("the garbage collections of warm restarts leave the process's --expose-gc as it was", async () => {
  // Warm restarts take gc() from a context made with --expose-gc set for that moment
  // (collect-garbage.cjs): a process without the flag must not gain a global gc() in the
  // contexts and workers made afterwards, and one with it must not lose it. A host reset in
  // place collects once every 32 restarts: the script makes 32.
  const script = `
    import { Worker } from 'node:worker_threads';
    import vm from 'node:vm';
    import { ThreadPoolManager } from ${JSON.stringify(new URL('../../glue/index.js', import.meta.url).href)};
    const glue = ${JSON.stringify(new URL('../../build/wasm/src/demo/demo.mjs', import.meta.url).href)};
    const demo = await (await import(glue)).default();
    const manager = new ThreadPoolManager({ module: glue, threads: 2, log: false });
    for (let i = 0; i < 32; i++) {
      await manager.execute(() => demo.fault('trap', 'pool', 0)).catch(() => {});
      await manager.execute(() => demo.noop());
    }
    // Eval code of a worker is an ES module here: the worker inherits --input-type=module.
    const worker = new Worker('import { parentPort } from "node:worker_threads"; parentPort.postMessage(typeof gc);', { eval: true });
    const [inWorker] = await Promise.all([new Promise((resolve) => worker.once('message', resolve)),
      new Promise((resolve) => worker.once('exit', resolve))]);
    console.log(JSON.stringify({ warm: manager.stats().warmRestarts, main: typeof gc, context: vm.runInNewContext('typeof gc'), inWorker }));
    await manager.shutdown();
  `;
  for (const [flags, expected] of [[[], 'undefined'], [['--expose-gc'], 'function']]) {
    const child = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.status, 0, child.stderr);
    const seen = JSON.parse(child.stdout.trim().split('\n').at(-1));
    assert.deepEqual(seen, { warm: 32, main: expected, context: expected, inWorker: expected }, `with ${flags.join(' ') || 'no flags'}`);
  }
});

test('after the warm restart tests shut down, no worker thread is left', async () => {
  assert.equal(await waitForThreadCount(baseline), baseline);
});
