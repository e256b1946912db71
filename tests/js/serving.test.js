// Serving concurrent callers (issue 17): a fault costs only the call that was running;
// several hosts keep serving while one is replaced; the queue in front of them is bounded;
// output reaches the log sink before its call settles; a routed module's instance on main
// does not keep the process alive after shutdown().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { WasmAbortError, WasmHangError, WasmPanicError, WasmShutdownError, WasmTimeoutError } from '../../glue/index.js';
import { loadDemo, newManager, testModule, track } from './helpers.js';

const innocent = (demo, i) => demo.add(i, i);
const outcome = (call) => call.error?.code ?? call.value;

test('a crash fails only the running call: calls and jobs queued behind it run on the new host', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.start();
  const job = new URL('./fixtures/jobs/faulty.mjs', import.meta.url);
  const faulting = track(manager.execute(() => demo.fault('trap', 'pool', 0)));
  const calls = Array.from({ length: 6 }, (_, i) => track(manager.execute(() => innocent(demo, i + 1))));
  const jobCall = track(manager.run(job, { what: 'after' }));
  await Promise.all([faulting, ...calls, jobCall].map((c) => c.promise));
  assert.ok(faulting.error instanceof WasmPanicError, String(faulting.error));
  assert.deepEqual(calls.map(outcome), [2, 4, 6, 8, 10, 12]);
  assert.equal(outcome(jobCall), 'after');
  assert.equal(manager.stats().crashes, 1);
  assert.equal(manager.stats().failed, 1, 'one failure in all');
});

test("the faulting execute()'s other pending calls fail with it: their pointers were in the dead memory", async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.start();
  const other = track(manager.execute(() => innocent(demo, 21)));
  const own = await manager.execute(async () => {
    const settled = await Promise.allSettled([demo.fault('trap', 'pool', 0), demo.add(1, 1), demo.add(2, 2)]);
    return settled.map((s) => s.reason ?? s.value);
  });
  await other.promise;
  assert.ok(own[0] instanceof WasmPanicError);
  assert.equal(own[1], own[0], 'the same error');
  assert.equal(own[2], own[0]);
  assert.equal(other.value, 42, 'another execute() queued in the host is not affected');
});

test('calls of the faulting execute() that finished before the fault keep their answers; the ones after it fail with it', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.start();
  for (let round = 0; round < 3; round++) {
    const settled = await manager.execute(() => Promise.allSettled([
      ...Array.from({ length: 60 }, (_, i) => demo.add(i, round)),
      demo.fault('trap', 'pool', 0),
      ...Array.from({ length: 20 }, (_, i) => demo.add(i, 100)),
    ]));
    // Run before the fault, answered whether or not main had read the answers yet.
    assert.deepEqual(settled.slice(0, 60).map((s) => s.value), Array.from({ length: 60 }, (_, i) => i + round));
    const fault = settled[60].reason;
    assert.ok(fault instanceof WasmPanicError, `round ${round}: ${settled[60].reason}`);
    assert.ok(settled.slice(61).every((s) => s.reason === fault), 'after it: the same error (the same execute())');
  }
  assert.equal(await manager.execute(() => demo.add(2, 3)), 5, 'the next execute() runs on a fresh host');
  assert.equal(manager.stats().crashes, 3);
});

test('a hang fails only the hung call: the calls queued behind it run on the new host', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 300 });
  await manager.start();
  const hung = track(manager.execute(() => demo.fault('hang', 'pool', 0)));
  const calls = Array.from({ length: 4 }, (_, i) => track(manager.execute(() => innocent(demo, i + 1))));
  await Promise.all([hung, ...calls].map((c) => c.promise));
  assert.ok(hung.error instanceof WasmHangError, String(hung.error));
  assert.deepEqual(calls.map(outcome), [2, 4, 6, 8]);
});

test('a timeout recycles the host: the calls queued behind the stopped call all run on the new host', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t);
  await manager.start();
  const slow = track(manager.execute(() => demo.slowProgress(20_000), { timeoutMs: 200 }));
  const calls = Array.from({ length: 4 }, (_, i) => track(manager.execute(() => innocent(demo, i + 1))));
  await Promise.all([slow, ...calls].map((c) => c.promise));
  assert.ok(slow.error instanceof WasmTimeoutError);
  assert.deepEqual(calls.map(outcome), [2, 4, 6, 8]);
  assert.equal(manager.stats().recycles, 1);
});

test('two hosts: one keeps serving while the other hangs, then both serve again', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { hosts: 2, heartbeatIntervalMs: 20, heartbeatTimeoutMs: 1500 });
  await manager.start();
  assert.equal(manager.stats().hosts.length, 2);
  assert.deepEqual(manager.stats().hosts.map((h) => h.state), ['ready', 'ready']);
  const hung = track(manager.execute(() => demo.fault('hang', 'pool', 0)));
  const served = [];
  for (let i = 1; i <= 10; i++) served.push(await manager.execute(() => innocent(demo, i)));
  assert.equal(hung.settled, 0, 'all ten were served while the other host was still hung');
  assert.deepEqual(served, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  // Ten at once, more than the other host's places: the silent host (silent for over
  // 10 ms by now) takes none of them (they would wait for the hang's detection), they
  // wait on main for the one serving.
  await new Promise((resolve) => setTimeout(resolve, 30));
  const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => manager.execute(() => innocent(demo, i))));
  assert.equal(hung.settled, 0, 'the burst was served while the other host was still hung');
  assert.deepEqual(burst, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  await hung.promise;
  assert.ok(hung.error instanceof WasmHangError);
  const crash = track(manager.execute(() => demo.fault('trap', 'pool', 0)));
  const during = Array.from({ length: 8 }, (_, i) => track(manager.execute(() => innocent(demo, i))));
  await Promise.all([crash, ...during].map((c) => c.promise));
  assert.ok(crash.error instanceof WasmPanicError);
  assert.deepEqual(during.map(outcome), [0, 2, 4, 6, 8, 10, 12, 14]);
  const stats = manager.stats();
  assert.equal(stats.hangs + stats.crashes, 2);
  assert.equal(stats.failed, 2);
  assert.equal(stats.hosts.reduce((n, h) => n + h.starts, 0), stats.starts);
  assert.equal(stats.queued, 0);
});

test('two hosts: work queued while one host was silent goes to it as soon as it answers', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { hosts: 2, executesPerHost: 2 });
  await manager.start();
  const gates = [];
  const gate = () => new Promise((resolve) => gates.push(resolve));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // Host 0: an execute whose long call keeps the host silent, then holds its place.
  let longCall = false;
  const holder = manager.execute(async () => {
    await demo.slowProgress(200);
    longCall = true;
    await gate();
    return 'holder';
  });
  await sleep(50); // host 0 has been silent for over 10 ms: it takes no more work
  // Host 1: both places taken by executes that only wait.
  const waiters = [manager.execute(() => gate()), manager.execute(() => gate())];
  await sleep(10);
  const queued = track(manager.execute(() => demo.add(20, 22)));
  assert.equal(manager.stats().queued, 1, 'host 0 silent, host 1 full: it waits on main');
  for (let i = 0; i < 200 && !longCall; i++) await sleep(10);
  assert.ok(longCall, 'the long call answered');
  // Every execute still holds its place; host 0 answered, so it takes the queued one.
  for (let i = 0; i < 100 && queued.settled === 0; i++) await sleep(10);
  assert.equal(queued.value, 42, 'served by host 0 while every other execute still held its place');
  for (const open of gates.splice(0)) open();
  assert.equal(await holder, 'holder');
  await Promise.all(waiters);
  assert.equal(manager.stats().queued, 0);
});

test('maxQueue: work past the bound is refused with ERR_WASM_QUEUE_FULL; queued work honours signal and timeout', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { executesPerHost: 1, maxQueue: 2 });
  let release;
  const gate = new Promise((resolve) => {
    release = resolve;
  });
  const holder = manager.execute(async () => {
    await gate; // holds the only place
    return demo.add(1, 2);
  });
  const controller = new AbortController();
  const aborted = track(manager.execute(() => demo.add(0, 0), { signal: controller.signal }));
  const timedOut = track(manager.execute(() => demo.add(0, 0), { timeoutMs: 50 }));
  assert.equal(manager.stats().queued, 2);
  await assert.rejects(manager.execute(() => demo.add(0, 0)), (error) => {
    assert.equal(error.code, 'ERR_WASM_QUEUE_FULL');
    assert.match(error.message, /2 execute\(\)\/run\(\) calls already wait/);
    assert.match(error.message, /options\.maxQueue/);
    return true;
  });
  controller.abort();
  await timedOut.promise;
  await aborted.promise;
  assert.ok(aborted.error instanceof WasmAbortError);
  assert.ok(timedOut.error instanceof WasmTimeoutError);
  assert.equal(manager.stats().queued, 0, 'both left the queue');
  const waiting = manager.execute(() => demo.add(20, 22));
  assert.equal(manager.stats().queued, 1);
  release();
  assert.equal(await holder, 3);
  assert.equal(await waiting, 42);
  const late = [manager.execute(() => demo.add(0, 0)), manager.execute(() => demo.add(0, 0))];
  assert.equal(manager.stats().queued, 1);
  const shutdown = manager.shutdown();
  await assert.rejects(late[1], WasmShutdownError, 'the queued one');
  await assert.rejects(late[0], WasmShutdownError, 'the one with a place, before its call was sent');
  await shutdown;
});

test('options hosts, executesPerHost and maxQueue are checked', async (t) => {
  const demo = await loadDemo();
  assert.throws(() => newManager(t, { hosts: 0 }), /options\.hosts must be an integer from 1 to 64, got 0/);
  assert.throws(() => newManager(t, { hosts: 1.5 }), /options\.hosts/);
  assert.throws(() => newManager(t, { maxQueue: -1 }), /options\.maxQueue must be an integer of at least 0, or Infinity or 'auto'/);
  assert.throws(() => newManager(t, { executesPerHost: 0 }), /options\.executesPerHost/);
  assert.equal(newManager(t, { hosts: 2, threads: 2, maxQueue: 'auto' }).options.maxQueue, 16);
  assert.equal(newManager(t, { hosts: 2 }).options.executesPerHost, 4);
  assert.equal(newManager(t).options.executesPerHost, Infinity);
  assert.equal(await newManager(t, { hosts: 3, threads: 1 }).execute(() => demo.add(2, 2)), 4);
});

test('more calls in flight than the call ring holds: each is answered, in order, whatever way it travelled', async (t) => {
  const demo = await loadDemo();
  const manager = newManager(t, { threads: 2 });
  // 15-20 KB strings: a few fill the 64 KiB ring (the rest wait in main's backlog), some
  // are over an entry's 16 KiB and go by message; small ones and numbers in between.
  const sizes = [15_000, 16_000, 16_400, 20_000, 100, 3];
  const order = [];
  const results = await manager.execute(() => Promise.all(Array.from({ length: 600 }, (_, i) => {
    if (i % 50 === 49) return demo.add(i, 1).then((sum) => order.push(i) && sum === i + 1);
    const text = 'abcdefghij'.repeat(sizes[i % sizes.length] / 10) + i;
    return demo.echo(text).then((echoed) => order.push(i) && echoed === text);
  })));
  assert.ok(results.every(Boolean), 'every call answered with its own result');
  assert.deepEqual(order, Array.from({ length: 600 }, (_, i) => i), 'answered in the order they were made');
  assert.equal(manager.stats().pending ?? 0, 0);
});

const output = testModule('output_module');
const LINE = /^line (\d+) from (the host thread|pool thread \d)$/;

for (const path of ['one call in flight', 'two in flight']) {
  test(`every line a call printed reaches the log sink before it settles (${path} path)`, async (t) => {
    const mod = await output.load();
    const entries = [];
    const manager = output.manager(t, { log: (entry) => entries.push(entry) });
    await manager.start();
    const lines = () => new Set(entries.filter((e) => e.level === 'stdout' && LINE.test(e.message)).map((e) => e.message));
    const logs = () => entries.filter((e) => e.level === 'info' && /^log line \d+$/.test(e.message)).length;
    for (let round = 0; round < 3; round++) {
      entries.length = 0;
      await manager.execute(async () => {
        if (path === 'one call in flight') {
          assert.equal(await mod.printLines(1000), 1000);
          assert.equal(lines().size, 1000, 'printf from the host thread and pool threads');
          assert.equal(await mod.logLines(1000), 1000);
          assert.equal(logs(), 1000, 'wasmpool::log lines over the threads\' own channels');
        } else {
          // Two in flight: both in the ring, answered while main is busy.
          const [printed, logged] = await Promise.all([mod.printLines(1000), mod.logLines(1000)]);
          assert.deepEqual([printed, logged], [1000, 1000]);
          assert.equal(lines().size, 1000);
          assert.equal(logs(), 1000);
        }
      });
    }
  });
}

test('a routed module whose static initialisers start a never-ending thread lets the process exit after shutdown()', () => {
  const glue = testModule('init_thread_module').glue;
  const script = `
    import { ThreadPoolManager } from ${JSON.stringify(new URL('../../glue/index.js', import.meta.url).href)};
    const mod = await (await import(${JSON.stringify(glue)})).default();
    const direct = mod.add(1, 2);
    const manager = new ThreadPoolManager({ module: ${JSON.stringify(glue)}, threads: 2, log: false });
    const routed = await manager.execute(() => mod.add(20, 22));
    await manager.shutdown();
    console.log(JSON.stringify({ direct, routed, after: mod.add(2, 3) }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.signal, null, `the child had to be killed: it did not exit by itself (${child.stderr})`);
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout.trim()), { direct: 3, routed: 42, after: 5 });
});
