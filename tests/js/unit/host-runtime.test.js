// HostRuntime alone (glue/host/host-runtime.cjs), without Emscripten and without a worker: the
// instance is a plain object of JS functions, `post` records what would go to main (after
// checking it is a well-formed host message that postMessage could clone), and the call
// rings, the request port and the cancel ring are the real ones, with main's ends held by
// the test, which sends calls and jobs the way main's HostSession does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostRuntime } from '../../../glue/host/host-runtime.cjs';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { CallRingClient, CallRingServer, MAX_CLONE, WAITING_FLAGS, createCallRings } from '../../../glue/shared/call-ring.cjs';
import { CancelRingReader, CancelRingWriter, createCancelRing } from '../../../glue/shared/cancel-ring.cjs';
import { isHostMessage, toHost } from '../../../glue/shared/protocol.cjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A job module the runtime can import: its source as a data: URL.
const jobUrl = (source) => `data:text/javascript,${encodeURIComponent(source)}`;

function host({ exports = {}, exportNames = Object.keys(exports), instance = exports, memory = null } = {}) {
  const rings = createCallRings();
  const cancelRing = createCancelRing();
  const requests = new MessageChannel();
  requests.port1.unref();
  requests.port2.unref();
  const client = new CallRingClient(rings); // main's end of the rings
  const messages = [];
  let waiting = null;
  // Answers in the ring join the messages as the results they stand for, in the order the
  // host gave them (the ring is read before each message is recorded).
  const collect = () => client.takeAnswers((id, value) => messages.push({ type: 'result', id, value }));
  const post = (message) => {
    assert.ok(isHostMessage(message), `a host message as protocol.cjs defines it: ${JSON.stringify(message)}`);
    structuredClone(message); // throws DataCloneError where postMessage would
    collect();
    messages.push(message);
    waiting?.();
  };
  const exits = [];
  const runtime = new HostRuntime({
    instance, memory, exportNames, post,
    ring: new CallRingServer(rings),
    nextPortRequest: () => receiveMessageOnPort(requests.port2)?.message,
    cancelRing: new CancelRingReader(cancelRing),
    exit: (code) => exits.push(code),
  });
  runtime.serve();
  return {
    runtime,
    rings,
    messages,
    exits,
    client,
    cancels: new CancelRingWriter(cancelRing), // main's end of the cancel ring
    /** Sends a call or job as main does: into the ring, or by port with its place marked. */
    send(message) {
      if (message.type === 'call') {
        const sent = client.sendCall(message.id, message.name, message.args);
        if (sent === 'sent') return 'ring';
        assert.equal(sent, 'message');
      }
      requests.port1.postMessage(message);
      assert.ok(client.sendByPort(message.id));
      return 'port';
    },
    /** Resolves once `count` answers and messages came. */
    async posted(count) {
      for (collect(); messages.length < count; collect()) {
        await Promise.race([new Promise((resolve) => { waiting = resolve; }), sleep(1)]);
      }
      return messages;
    },
  };
}

test('calls and jobs run one at a time in arrival order: a job that awaits does not let the next call start', async () => {
  const trace = [];
  const h = host({ exports: { log: (what) => { trace.push(what); return what; } } });
  h.send(toHost.job(1, jobUrl(`export default async (input, { module }) => {
    module.log('job started');
    await new Promise((resolve) => setTimeout(resolve, 30));
    module.log('job ended');
    return input * 2;
  }`), 21));
  h.send(toHost.call(2, 'log', ['call']));
  h.send(toHost.call(3, 'log', ['another call']));
  await sleep(10);
  assert.deepEqual(trace, ['job started'], 'the calls wait for the job');
  assert.equal(h.client.running(), 1, 'the job is marked as running in the ring header');
  await h.posted(3);
  assert.deepEqual(trace, ['job started', 'job ended', 'call', 'another call']);
  assert.deepEqual(h.messages, [
    { type: 'result', id: 1, value: 42 },
    { type: 'result', id: 2, value: 'call' },
    { type: 'result', id: 3, value: 'another call' },
  ]);
  assert.equal(h.client.running(), 0, 'nothing runs between calls');
});

test('a call cancelled while queued never runs and is not answered; the ones behind it run', async () => {
  const ran = [];
  let h = null;
  h = host({ exports: {
    first: () => {
      h.cancels.cancel(2); // main abandons call 2 while the host is busy with this one
      ran.push('first');
      return 1;
    },
    second: () => ran.push('second'),
    third: () => ran.push('third'),
  } });
  h.send(toHost.call(1, 'first', []));
  h.send(toHost.call(2, 'second', []));
  h.send(toHost.call(3, 'third', []));
  await h.posted(2);
  await sleep(5);
  assert.deepEqual(ran, ['first', 'third']);
  assert.deepEqual(h.messages.map((m) => m.id), [1, 3]);
});

test('an export that throws a number is a C++ exception: ERR_WASM_CPP_EXCEPTION with its what(); the host goes on', async () => {
  const h = host({
    exports: { fails: () => { throw 0x1234; }, ok: () => 'ok' },
    exportNames: ['fails', 'ok'],
  });
  h.send(toHost.call(1, 'fails', []));
  await h.posted(1);
  assert.equal(h.messages[0].error.code, 'ERR_WASM_CPP_EXCEPTION');
  assert.match(h.messages[0].error.message, /uncaught C\+\+ exception at 0x1234/, 'no describer: the address');

  const described = host({ exports: {
    fails: () => { throw 0x1234; },
    ok: () => 'ok',
    wasmpoolDescribeException: (pointer) => `std::runtime_error\nboom at ${pointer}`,
  }, exportNames: ['fails', 'ok'] });
  described.send(toHost.call(1, 'fails', []));
  described.send(toHost.call(2, 'ok', []));
  await described.posted(2);
  assert.deepEqual(described.messages[0], { type: 'error', id: 1,
    error: { name: 'std::runtime_error', message: `boom at ${0x1234}`, code: 'ERR_WASM_CPP_EXCEPTION' } });
  assert.deepEqual(described.messages[1], { type: 'result', id: 2, value: 'ok' });
  assert.equal(described.runtime.usable, true);
});

test('a JS error rejects its call only; a thread refused during the call says so (ERR_WASM_THREAD_LIMIT), for that call only', async () => {
  let h = null;
  h = host({ exports: {
    crowded: () => {
      h.runtime.threadLimitHit(9, 8);
      throw new Error('no thread');
    },
    plain: () => { throw new TypeError('bad'); },
  } });
  h.send(toHost.call(1, 'crowded', []));
  h.send(toHost.call(2, 'plain', []));
  await h.posted(2);
  assert.equal(h.messages[0].error.code, 'ERR_WASM_THREAD_LIMIT');
  assert.match(h.messages[0].error.message, /^no thread \(the host refused to start a thread: 9 threads .* limit is 8/);
  assert.equal(h.messages[1].error.name, 'TypeError');
  assert.equal(h.messages[1].error.message, 'bad');
  assert.equal(h.messages[1].error.code, undefined, 'the limit was hit in the call before');
});

test('a fault (WebAssembly.RuntimeError) is a crash of the host: nothing more runs, the call stays marked as running', async () => {
  const ran = [];
  const h = host({ exports: {
    traps: () => { throw new WebAssembly.RuntimeError('memory access out of bounds'); },
    next: () => ran.push('next'),
  } });
  h.send(toHost.call(4, 'traps', []));
  h.send(toHost.call(5, 'next', []));
  await h.posted(1);
  await sleep(10);
  assert.equal(h.messages.length, 1, 'only the crash');
  const [crash] = h.messages;
  assert.equal(crash.type, 'crash');
  assert.equal(crash.thread, -1);
  assert.equal(crash.kind, 'oob');
  assert.equal(crash.deferred, false);
  assert.match(crash.stack, /RuntimeError/);
  assert.deepEqual(ran, [], 'the call queued behind it never ran');
  assert.equal(h.runtime.usable, false);
  assert.equal(h.client.running(), 4, 'main fails that call, and only it');
  h.send(toHost.call(6, 'next', []));
  await sleep(5);
  assert.deepEqual(ran, []);
  assert.equal(h.messages.length, 1);
});

test("'unwind' (a thread died while the host waited) is a deferred crash: no thread, kind unknown; nothing more runs", async () => {
  const ran = [];
  const h = host({ exports: { waits: () => { throw 'unwind'; }, next: () => ran.push('next') } });
  h.send(toHost.call(1, 'waits', []));
  h.send(toHost.call(2, 'next', []));
  await h.posted(1);
  await sleep(10);
  assert.deepEqual(h.messages, [{ type: 'crash', thread: null, kind: 'unknown', deferred: true, exiting: false, stack: '',
    message: 'a thread died while the host waited in waits()' }]);
  assert.deepEqual(ran, []);
  assert.equal(h.runtime.usable, false);
  assert.equal(h.client.running(), 1);
});

test('a name that is not a callable export is ERR_WASM_UNKNOWN_EXPORT, even when the module lists it', async () => {
  const h = host({ exports: { f: () => 1, value: 7, constructor: () => 1 }, exportNames: ['f', 'value', 'constructor', 'gone'] });
  const names = ['nope', 'value', 'constructor', 'gone', 'toString'];
  names.forEach((name, i) => h.send(toHost.call(i + 1, name, [])));
  await h.posted(names.length);
  for (const [i, message] of h.messages.entries()) {
    assert.equal(message.type, 'error');
    assert.equal(message.id, i + 1);
    assert.equal(message.error.code, 'ERR_WASM_UNKNOWN_EXPORT', names[i]);
    assert.equal(message.error.message, `${JSON.stringify(names[i])} is not an export of this module`);
  }
  // A host of jobs only has no instance: every call is unknown.
  const jobsOnly = host({ instance: null, exportNames: [] });
  jobsOnly.send(toHost.call(1, 'f', []));
  assert.equal((await jobsOnly.posted(1))[0].error.code, 'ERR_WASM_UNKNOWN_EXPORT');
});

test('a result that views the wasm memory is copied out; other views go as they are', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const heap = new Uint8Array(memory.buffer);
  heap.set([1, 2, 3, 4], 16);
  const own = new Uint8Array([9]);
  const h = host({ memory, exports: { view: () => new Uint8Array(memory.buffer, 16, 4), own: () => own } });
  h.send(toHost.call(1, 'view', []));
  h.send(toHost.call(2, 'own', []));
  await h.posted(2);
  const { value } = h.messages[0];
  assert.notEqual(value.buffer, memory.buffer, 'not a view of the heap any more');
  heap[16] = 99;
  assert.deepEqual([...value], [1, 2, 3, 4], 'a copy: later writes to the heap do not show');
  assert.deepEqual([...h.messages[1].value], [9]);
});

test('a result that cannot be cloned is ERR_WASM_RESULT_NOT_CLONEABLE for that call', async () => {
  const h = host({ exports: { fn: () => ({ f() {} }), ok: () => 2 } });
  h.send(toHost.call(1, 'fn', []));
  h.send(toHost.call(2, 'ok', []));
  await h.posted(2);
  assert.equal(h.messages[0].type, 'error');
  assert.equal(h.messages[0].error.name, 'DataCloneError');
  assert.equal(h.messages[0].error.code, 'ERR_WASM_RESULT_NOT_CLONEABLE');
  assert.match(h.messages[0].error.message, /^the result of fn\(\) cannot be sent back to the main thread: /);
  assert.deepEqual(h.messages[1], { type: 'result', id: 2, value: 2 });
});

test('a job module without a default export function is ERR_WASM_JOB_NOT_A_FUNCTION; a job sees the instance and memory', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const h = host({ memory, exports: { answer: () => 42 } });
  h.send(toHost.job(1, jobUrl('export const x = 1;'), null));
  h.send(toHost.job(2, jobUrl(`export default (input, { module, memory }) =>
    ({ answer: module.answer(), pages: memory.buffer.byteLength / 65536, input })`), 'in'));
  await h.posted(2);
  assert.equal(h.messages[0].error.code, 'ERR_WASM_JOB_NOT_A_FUNCTION');
  assert.deepEqual(h.messages[1], { type: 'result', id: 2, value: { answer: 42, pages: 1, input: 'in' } });
});

test('the ring path: numbers, undefined and small values are answered in the ring; errors and what does not fit go by message', async () => {
  const h = host({ exports: { add: (a, b) => a + b, nothing: () => undefined, pair: (a) => [a, String(a)],
    fails: () => { throw new Error('no'); }, big: () => new Uint8Array(MAX_CLONE + 1) } });
  for (const [id, name, args] of [[1, 'add', [2, 3]], [2, 'add', [-0, 0.5]], [3, 'nothing', []], [4, 'pair', [7]]]) {
    assert.equal(h.send(toHost.call(id, name, args)), 'ring');
  }
  await h.posted(4);
  assert.deepEqual(h.messages, [
    { type: 'result', id: 1, value: 5 },
    { type: 'result', id: 2, value: 0.5 },
    { type: 'result', id: 3, value: undefined },
    { type: 'result', id: 4, value: [7, '7'] },
  ]);
  h.messages.splice(0);
  h.send(toHost.call(5, 'fails', []));
  h.send(toHost.call(6, 'big', []));
  await h.posted(2);
  assert.equal(h.messages[0].type, 'error');
  assert.equal(h.messages[0].error.message, 'no');
  assert.equal(h.messages[1].type, 'result');
  assert.equal(h.messages[1].value.length, MAX_CLONE + 1, 'a result over an entry\'s limit comes whole, by message');
});

test('a request whose wake-up is lost is taken at the next heartbeat (poll), not never', async () => {
  const h = host({ exports: { add: (a, b) => a + b } });
  h.send(toHost.call(1, 'add', [1, 2]));
  await h.posted(1);
  // Past its window of blocked waits (20 ms), the host sleeps on its event loop.
  await sleep(60);
  const flags = new Int32Array(h.rings);
  assert.equal(Atomics.load(flags, WAITING_FLAGS.host), 1, 'the host says it sleeps');
  Atomics.store(flags, WAITING_FLAGS.host, 0); // so main's write will not notify: a lost wake-up
  h.send(toHost.call(2, 'add', [3, 4]));
  await sleep(30);
  assert.equal(h.client.answersWaiting, false, 'not run: the host was not woken');
  assert.equal(h.messages.length, 1);
  h.runtime.poll();
  h.runtime.poll(); // a second heartbeat finds nothing more to do
  // Without the poll the call would wait forever: nothing else wakes a sleeping host.
  const messages = await h.posted(2);
  assert.deepEqual(messages[1], { type: 'result', id: 2, value: 7 });
  // The wait it slept in is forgotten: past its window of blocked waits the host sleeps
  // again in a new one, which the next request wakes as usual, with no poll. Kept as its
  // sleep, the lost wait made every later request wait for a heartbeat.
  await sleep(60);
  assert.equal(Atomics.load(flags, WAITING_FLAGS.host), 1, 'the host sleeps again, in a new wait');
  h.send(toHost.call(3, 'add', [5, 6]));
  assert.deepEqual((await h.posted(3))[2], { type: 'result', id: 3, value: 11 });
});

test('order: calls by port (too large for an entry) and jobs keep their place among calls in the ring', async () => {
  const ran = [];
  const h = host({ exports: { mark: (id) => { ran.push(id); return id; } } });
  const big = 'x'.repeat(MAX_CLONE);
  const ways = [];
  for (let id = 1; id <= 30; id++) {
    if (id % 5 === 0) ways.push(h.send(toHost.job(id, jobUrl('export default (id, { module }) => module.mark(id)'), id)));
    else ways.push(h.send(toHost.call(id, 'mark', id % 3 === 0 ? [id, big] : [id])));
  }
  assert.ok(ways.includes('ring') && ways.includes('port'));
  await h.posted(30);
  assert.deepEqual(ran, Array.from({ length: 30 }, (_, i) => i + 1), 'run in the order sent');
});

test("a malformed message is logged and ignored; 'terminate' joins the pool, then exits", () => {
  const joined = [];
  const h = host({ exports: { exitThreadPool: () => joined.push(true) } });
  h.runtime.receive({ type: 'call', id: 'x' });
  assert.equal(h.messages.length, 1);
  assert.equal(h.messages[0].type, 'log-host');
  assert.match(h.messages[0].entry.message, /ignored a malformed message from main/);
  h.runtime.receive(toHost.terminate());
  assert.deepEqual(joined, [true]);
  assert.deepEqual(h.exits, [0]);
  // Exit even when joining the pool throws.
  const broken = host({ exports: { exitThreadPool: () => { throw new Error('stuck'); } } });
  assert.throws(() => broken.runtime.receive(toHost.terminate()), /stuck/);
  assert.deepEqual(broken.exits, [0]);
});
