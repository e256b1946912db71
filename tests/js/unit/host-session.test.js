// HostSession without Emscripten: its worker factory is injected, so a fake host worker
// (an EventEmitter that records what main posts) stands in for host.cjs. What the fake
// host sends follows protocol.cjs, through the same paths the real host uses: messages
// on the worker, the output channel from workerData, thread ports it announces, the call
// rings. Also the pure parts the session is made of: the pending-call table and the crash
// verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { HostSession } from '../../../glue/main/host-session.js';
import { PendingCalls } from '../../../glue/main/pending-calls.js';
import { crashVerdict, hostDeathVerdict } from '../../../glue/main/crash-verdict.js';
import { CallRingServer, WAITING_FLAGS } from '../../../glue/shared/call-ring.cjs';
import { toMain } from '../../../glue/shared/protocol.cjs';
import { WasmHangError, WasmPanicError } from '../../../glue/main/errors.js';

class FakeHostWorker extends EventEmitter {
  posted = [];
  exitsOnTerminateMessage = true;
  constructor(options) {
    super();
    this.options = options;
  }
  postMessage(message) {
    this.posted.push(message);
    if (message.type === 'terminate' && this.exitsOnTerminateMessage) this.terminate();
  }
  ref() {}
  unref() {}
  terminate() {
    if (!this.exited) {
      this.exited = true;
      setImmediate(() => this.emit('exit', 1));
    }
    return Promise.resolve(1);
  }
  // What the host sends.
  send(message) {
    this.emit('message', message);
  }
  output(message, transferList) {
    this.options.workerData.outputPort.postMessage(message, transferList);
  }
}

const NO_MODULE = { glueUrl: null, patched: false, wasmUrl: null, module: null, memoryLimits: null, moduleId: null };

function newSession(t, { heartbeatTimeoutMs = 5000 } = {}) {
  const seen = { output: [], failed: [], stuck: [], logs: [] };
  let worker;
  const session = new HostSession({
    loaded: NO_MODULE, threads: 2, maxExtraThreads: 0, heartbeatIntervalMs: 20, heartbeatTimeoutMs,
    events: {
      log: (entry) => seen.logs.push(entry),
      output: (stream, text) => seen.output.push(text),
      failed: (_session, error, queued) => seen.failed.push({ error, queued }),
      settled: () => {},
      stuck: (_session, error) => seen.stuck.push(error),
    },
    createWorker: (url, options) => (worker = new FakeHostWorker(options)),
  });
  t.after(() => session.stop());
  worker.send(toMain.ready(null, 0, 1));
  return { session, worker, seen, ring: new CallRingServer(worker.options.workerData.callRings) };
}

const outcome = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('calls go through the ring in order; answers in the ring and by message settle them', async (t) => {
  const { session, worker, ring } = newSession(t);
  await session.ready();
  const owner = {};
  const first = session.call('add', [1, 2], owner);
  const second = session.call('add', [3, 4], owner);
  const taken = [ring.take(), ring.take()];
  assert.deepEqual(taken.map((call) => [call.name, call.args]), [['add', [1, 2]], ['add', [3, 4]]]);
  assert.equal(ring.take(), null);
  assert.deepEqual(worker.posted, [], 'no message for a call the ring carries');
  assert.ok(ring.answer(taken[0].id, 3));
  worker.output(toMain.result(taken[1].id, 7));
  assert.deepEqual([await first, await second], [3, 7]);
  assert.equal(session.pendingCount, 0);
});

test('an answer by message never settles before an earlier call answered in the ring', async (t) => {
  const { session, worker, ring } = newSession(t);
  await session.ready();
  const settled = [];
  const calls = [1, 2, 3].map((n) => session.call('add', [n, 0], {}).then((value) => settled.push(value)));
  const ids = [ring.take().id, ring.take().id, ring.take().id];
  // Main drains the output channel before it reads the ring, so the later call's message
  // answer is collected first.
  worker.output(toMain.result(ids[2], 3));
  assert.ok(ring.answer(ids[0], 1));
  assert.ok(ring.answer(ids[1], 2));
  await Promise.all(calls);
  assert.deepEqual(settled, [1, 2, 3]);
});

test('an answer whose wake-up is lost is read within milliseconds, with no heartbeat; the next wait is a new one', async (t) => {
  const { session, worker, ring } = newSession(t);
  await session.ready();
  const call = session.call('add', [1, 2], {});
  const { id } = ring.take();
  await turn();
  const flags = new Int32Array(worker.options.workerData.callRings);
  assert.equal(Atomics.load(flags, WAITING_FLAGS.main), 1, 'main waits for the answer');
  Atomics.store(flags, WAITING_FLAGS.main, 0); // so the answer will not notify: a lost wake-up
  assert.ok(ring.answer(id, 3));
  // No heartbeat comes (the fake host sends none): while calls are pending main looks for
  // answers its wait missed every 10 ms.
  const notRead = (ms) => new Promise((resolve) => setTimeout(resolve, ms, 'not read'));
  assert.equal(await Promise.race([call, notRead(2000)]), 3);
  assert.equal(session.pendingCount, 0);
  // The wait that missed it is forgotten: main's next wait is a new one, which the next
  // answer wakes. Kept armed, the lost wait stood for every later one, and every later
  // answer waited for the net.
  const next = session.call('add', [2, 2], {});
  const second = ring.take();
  await turn();
  assert.equal(Atomics.load(flags, WAITING_FLAGS.main), 1, 'main waits again, in a new wait');
  assert.ok(ring.answer(second.id, 4));
  assert.equal(await Promise.race([next, notRead(2000)]), 4);
});

test('a request the host leaves untaken while it runs nothing (its wake-up lost) makes main tell it to poll, once', async (t) => {
  const { session, worker, ring } = newSession(t);
  await session.ready();
  const call = session.call('add', [1, 2], {});
  // The fake host takes nothing, as a host asleep whose wake-up was lost; it runs nothing
  // (the ring's running mark is 0). Main looks every 10 ms and tells it after two looks.
  const polls = () => worker.posted.filter((message) => message.type === 'poll').length;
  for (let waited = 0; polls() === 0 && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(polls(), 1, 'main told the host to take its requests');
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(polls(), 1, 'once for one stall, however long it lasts');
  const { id } = ring.take(); // what HostRuntime.poll() does
  assert.ok(ring.answer(id, 3));
  assert.equal(await call, 3);
});

test('a host running a call takes no requests meanwhile, and main does not tell it to', async (t) => {
  const { session, worker, ring } = newSession(t);
  await session.ready();
  const first = session.call('add', [1, 2], {});
  const second = session.call('add', [3, 4], {});
  const { id } = ring.take();
  ring.markRunning(id);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(worker.posted.filter((message) => message.type === 'poll').length, 0);
  ring.markRunning(0);
  assert.ok(ring.answer(id, 3));
  const next = ring.take();
  assert.ok(ring.answer(next.id, 7));
  assert.deepEqual(await Promise.all([first, second]), [3, 7]);
});

test('output the host posted before a result reaches the sink before the call settles', async (t) => {
  const { session, worker, seen, ring } = newSession(t);
  await session.ready();
  const call = session.call('print', [], {});
  const { id } = ring.take();
  for (let i = 0; i < 100; i++) worker.output(toMain.output('stdout', `line ${i}`));
  ring.answer(id, 'done');
  assert.equal(await call, 'done');
  assert.equal(seen.output.length, 100, 'all of it, drained from the output channel before the result');
});

test('a thread\'s crash notice fails the running call and its owner\'s others; other owners\' calls are handed back', async (t) => {
  const { session, worker, seen, ring } = newSession(t);
  await session.ready();
  const a = {};
  const b = {};
  const running = outcome(session.call('work', [], a));
  const sameOwner = outcome(session.call('more', [], a));
  const other = session.call('innocent', [], b);
  ring.markRunning(ring.take().id);
  const { port1, port2 } = new MessageChannel();
  worker.output(toMain.threadPort(7, port1), [port1]);
  await turn();
  port2.postMessage({ type: 'crash', channel: 7, thread: -1, pthread: 4096, kind: 'oob', message: 'memory access out of bounds',
    stack: 'RuntimeError', time: Date.now() });
  const { error } = await running;
  assert.ok(error instanceof WasmPanicError);
  assert.deepEqual([error.kind, error.pthread, error.source], ['oob', 4096, 'port']);
  assert.equal((await sameOwner).error, error, 'its pointers are in the dead memory');
  assert.equal(seen.failed.length, 1);
  assert.deepEqual(seen.failed[0].queued.map((call) => call.name), ['innocent'], 'never started: handed back');
  assert.equal(session.state, 'failed');
  // The manager sends it to the replacement; here, a second fake session.
  const { session: fresh, worker: freshWorker, ring: freshRing } = newSession(t);
  await fresh.ready();
  seen.failed[0].queued[0].sendTo(fresh);
  freshWorker.send(toMain.result(0, 'unused')); // an answer for nobody is ignored
  const resent = freshRing.take();
  assert.equal(resent.name, 'innocent');
  freshRing.answer(resent.id, 'ok');
  assert.equal(await other, 'ok');
  port2.close();
});

test('the host\'s report of a thread\'s death yields to the thread\'s own notice, posted earlier on its port', async (t) => {
  const { session, worker, ring } = newSession(t);
  await session.ready();
  const running = outcome(session.call('work', [], {}));
  ring.markRunning(ring.take().id);
  const { port1, port2 } = new MessageChannel();
  worker.output(toMain.threadPort(3, port1), [port1]);
  await turn();
  // The thread posts its notice and dies; the host hears of it from the worker's 'error'
  // event (a copy of the error) and reports it in the same turn, before main read the port.
  port2.postMessage({ type: 'crash', channel: 3, thread: -1, pthread: 0x2000, kind: 'trap', message: 'unreachable',
    stack: 'RuntimeError: unreachable', time: Date.now() });
  worker.send(toMain.crash({ thread: -1, kind: 'unknown', message: 'unreachable', exiting: true }));
  const { error } = await running;
  assert.deepEqual([error.kind, error.pthread, error.source], ['trap', 0x2000, 'port']);
  port2.close();
});

test('silence while the host runs a call is a hang that fails it; a call it had not taken is handed back', async (t) => {
  const { session, ring, seen } = newSession(t, { heartbeatTimeoutMs: 100 });
  await session.ready();
  const spinning = outcome(session.call('spin', [], {}));
  ring.markRunning(ring.take().id); // the host took it and runs it, silently
  const behind = session.call('behind', [], {});
  const { error } = await spinning;
  assert.ok(error instanceof WasmHangError);
  assert.equal(error.timeoutMs, 100);
  assert.deepEqual(seen.failed[0].queued.map((call) => call.name), ['behind']);
  seen.failed[0].queued[0].resolve('resent');
  assert.equal(await behind, 'resent');
});

test('a stop that does not finish is reported once, however many wait for it', async (t) => {
  const { session, worker, seen } = newSession(t, { heartbeatTimeoutMs: 100 });
  await session.ready();
  worker.exitsOnTerminateMessage = false;
  await Promise.all([session.stop(), session.stop({ keepAlive: true })]);
  assert.equal(seen.stuck.length, 1);
  assert.equal(seen.stuck[0].during, 'stop');
});

test('the pending-call table: abandon tells which call was running and cancels the queued ones', () => {
  const table = new PendingCalls();
  const a = {};
  const b = {};
  const rejected = [];
  for (const [id, owner] of [[1, a], [2, b], [3, a]]) table.add(id, { name: `c${id}`, owner }).catch((e) => rejected.push([id, e]));
  const cancelled = [];
  assert.equal(table.abandon(a, new Error('timeout'), (id) => cancelled.push(id)), true, 'call 1 runs');
  assert.deepEqual(cancelled, [3], 'the running one cannot be cancelled, only the queued one');
  assert.equal(table.size, 1);
  assert.equal(table.abandon(b, new Error('abort'), () => {}), true);
});

test('the pending-call table after a fault: running, same owner and moved input fail; the rest is handed back', async () => {
  const table = new PendingCalls();
  const a = {};
  const b = {};
  const outcomes = [];
  const add = (id, call) => outcomes.push(outcome(table.add(id, call)));
  add(1, { name: 'b1', owner: b });
  add(2, { name: 'a1', owner: a });
  add(3, { name: 'a2', owner: a });
  add(4, { name: 'moved', owner: b, transferred: true });
  add(5, { name: 'b2', owner: b });
  const fault = new Error('fault');
  const handedBack = table.endWith(fault, { handBack: true, runningId: 2 });
  assert.deepEqual(handedBack.map((call) => call.name), ['b1', 'b2']);
  assert.equal(table.size, 0);
  handedBack.forEach((call) => call.resolve('resent'));
  assert.deepEqual((await Promise.all(outcomes)).map((o) => o.value ?? o.error.message), ['resent', 'fault', 'fault', 'fault', 'resent']);
  // A shutdown fails everything.
  const all = new PendingCalls();
  const last = outcome(all.add(1, { name: 'x', owner: a }));
  assert.deepEqual(all.endWith(fault, { handBack: false, runningId: 0 }), []);
  assert.equal((await last).error, fault);
});

test('the pending-call table keeps sending order through growth, wrap-around and holes', async () => {
  const table = new PendingCalls();
  const a = {};
  const b = {};
  const settled = new Map();
  const add = (id, owner) => table.add(id, { name: `c${id}`, owner }).then((v) => settled.set(id, v), (e) => settled.set(id, e.message));
  let next = 1;
  // Wrap the ring many times with a few calls in flight, answered in order.
  for (let round = 0; round < 500; round++) {
    add(next++, a);
    add(next++, a);
    const oldest = table.oldest();
    assert.equal(table.take(oldest.id), oldest);
  }
  assert.equal(table.size, 500);
  // Grow past the first capacity while calls of two owners interleave; ids skip (a call that
  // could not be sent took an id and was never added).
  const ids = [];
  for (let i = 0; i < 300; i++, next += 2) {
    add(next, i % 3 === 0 ? b : a);
    ids.push(next);
  }
  assert.equal(table.get(ids[0] + 1), undefined, 'an id never added is not found');
  assert.equal(table.has(ids[150]), true);
  // An answer out of order leaves a hole; the rest keep their order.
  assert.equal(table.take(ids[10]).id, ids[10]);
  assert.equal(table.take(ids[10]), undefined, 'taken once');
  const cancelled = [];
  assert.equal(table.abandon(b, new Error('timeout'), (id) => cancelled.push(id)), false, 'the oldest call is a\'s');
  assert.deepEqual(cancelled, ids.filter((id, i) => i % 3 === 0), 'every queued call of b, in sending order');
  const rest = table.takeAll();
  assert.equal(table.size, 0);
  assert.equal(table.oldest(), undefined);
  const expected = [...Array.from({ length: 500 }, (_, i) => 501 + i), ...ids.filter((id, i) => i % 3 !== 0 && i !== 10)];
  assert.deepEqual(rest.map((call) => call.id), expected);
  // Usable again after it was emptied.
  add(next, a);
  assert.equal(table.oldest().id, next);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled.get(ids[0]), 'timeout');
});

test('the pending-call table: calls abandoned behind a long one at its head leave no trace', async () => {
  const table = new PendingCalls();
  const settled = [];
  const long = {};
  table.add(1, { name: 'long', owner: long }).catch(() => {});
  // A server whose executes time out behind a long call: each leaves a hole between the
  // long call and the newest one, which the ring drops when it makes room.
  let previous = null;
  for (let id = 2; id < 20_000; id++) {
    const owner = {};
    table.add(id, { name: `c${id}`, owner }).catch((e) => settled.push(e.message));
    if (previous) table.abandon(previous, new Error('timed out'), () => {});
    previous = owner;
  }
  assert.equal(table.size, 2);
  assert.equal(table.oldest().name, 'long');
  assert.equal(table.get(19_999).name, 'c19999');
  assert.equal(table.take(1).name, 'long');
  assert.equal(table.oldest().id, 19_999, 'the holes before the newest call are gone with the long one');
  assert.deepEqual(table.takeAll().map((call) => call.id), [19_999]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled.length, 19_997);
});

test('the pending-call table counts each outcome once: where it settles, not where it was handed back from', async () => {
  const counts = { first: [], second: [] };
  const first = new PendingCalls((ok) => counts.first.push(ok));
  const second = new PendingCalls((ok) => counts.second.push(ok));
  const owner = {};
  const results = [1, 2, 3].map((id) => outcome(first.add(id, { name: `c${id}`, owner })));
  first.take(1).resolve('one');
  first.take(2).reject(new Error('two'));
  // Call 3 never ran: handed back after a fault, it goes to the next session, which settles it.
  const [handedBack] = first.takeAll();
  handedBack.sendTo({ call: (name, args, o) => second.add(7, { name, args, owner: o }) });
  second.take(7).resolve('three');
  assert.deepEqual((await Promise.all(results)).map((o) => o.value ?? o.error.message), ['one', 'two', 'three']);
  assert.deepEqual(counts, { first: [true, false], second: [true] });
});

test('a call handed back whose execute() finished meanwhile is not run for nobody', async () => {
  const table = new PendingCalls();
  const result = outcome(table.add(1, { name: 'late', owner: { closed: true } }));
  const [call] = table.takeAll();
  call.sendTo({ call: () => assert.fail('must not be sent') });
  assert.equal((await result).error.code, 'ERR_WASM_CALL_OUTSIDE_EXECUTE');
});

test('crash verdicts: a thread\'s own notice names it; the record refines kind and message; the host thread is -1', () => {
  const notice = { thread: 1, pthread: 0x500, kind: 'abort', message: 'Aborted()', stack: 's', source: 'port' };
  assert.deepEqual(crashVerdict({ notice, record: null, hostPthread: 0x100 }),
    { thread: 1, pthread: 0x500, kind: 'abort', message: 'Aborted()', wasmStack: 's', source: 'port' });
  const record = { thread: 0, pthread: 0x100, kind: 'terminate', message: 'std::terminate: boom' };
  assert.deepEqual(crashVerdict({ notice, record, hostPthread: 0x100 }),
    { thread: 1, pthread: 0x500, kind: 'terminate', message: 'std::terminate: boom', wasmStack: 's', source: 'port' },
    'the thread says who; the record says how');
  const fromHost = { ...notice, thread: null, pthread: 0, source: 'host' };
  assert.deepEqual(crashVerdict({ notice: fromHost, record, hostPthread: 0x100 }).thread, -1, 'the host thread, by its pthread');
  const unnamed = crashVerdict({ notice: { ...notice, thread: -1, pthread: 0 }, record: null, hostPthread: 0x100 });
  assert.equal(unnamed.thread, null, 'a port notice without a pthread (Closure-renamed glue) is not the host thread');
  assert.match(new WasmPanicError(unnamed).message, /^WebAssembly abort in a thread of the pool host: Aborted\(\)$/);
  assert.deepEqual(hostDeathVerdict({ message: 'exited with code 1', record: null, hostPthread: 0 }),
    { thread: -1, pthread: 0, kind: 'host-exit', message: 'exited with code 1', wasmStack: undefined, cause: undefined, source: 'exit' });
  assert.equal(hostDeathVerdict({ message: 'x', record: { ...record, pthread: 0x700, thread: 3 }, hostPthread: 0x100 }).thread, 3);
});
