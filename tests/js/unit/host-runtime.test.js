// HostRuntime alone (glue/host/host-runtime.js), without Emscripten and without a worker: the
// instance is a plain object of JS functions, `post` records what would go to main (after
// checking it is a well-formed host message that postMessage could clone), and the call
// slot and cancel ring are the real ones, with main's ends held by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostRuntime } from '../../../glue/host/host-runtime.js';
import { CallSlotClient, CallSlotServer, CAPACITY, RESPONSE_BY_MESSAGE, RESPONSE_IN_SLOT, createCallSlot } from '../../../glue/shared/call-slot.js';
import { CancelRingReader, CancelRingWriter, createCancelRing } from '../../../glue/shared/cancel-ring.js';
import { isHostMessage, toHost } from '../../../glue/shared/protocol.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A job module the runtime can import: its source as a data: URL.
const jobUrl = (source) => `data:text/javascript,${encodeURIComponent(source)}`;

function host({ exports = {}, exportNames = Object.keys(exports), instance = exports, memory = null } = {}) {
  const callSlot = createCallSlot();
  const cancelRing = createCancelRing();
  const messages = [];
  let waiting = null;
  const post = (message) => {
    assert.ok(isHostMessage(message), `a host message as protocol.js defines it: ${JSON.stringify(message)}`);
    structuredClone(message); // throws DataCloneError where postMessage would
    messages.push(message);
    waiting?.();
  };
  const exits = [];
  const runtime = new HostRuntime({
    instance, memory, exportNames, post,
    slot: new CallSlotServer(callSlot),
    cancelRing: new CancelRingReader(cancelRing),
    exit: (code) => exits.push(code),
  });
  return {
    runtime,
    messages,
    exits,
    client: new CallSlotClient(callSlot), // main's end of the slot
    cancels: new CancelRingWriter(cancelRing), // main's end of the ring
    /** Resolves once `count` messages were posted. */
    async posted(count) {
      while (messages.length < count) await new Promise((resolve) => { waiting = resolve; });
      return messages;
    },
  };
}

test('calls and jobs run one at a time in arrival order: a job that awaits does not let the next call start', async () => {
  const trace = [];
  const h = host({ exports: { log: (what) => { trace.push(what); return what; } } });
  h.runtime.receive(toHost.job(1, jobUrl(`export default async (input, { module }) => {
    module.log('job started');
    await new Promise((resolve) => setTimeout(resolve, 30));
    module.log('job ended');
    return input * 2;
  }`), 21));
  h.runtime.receive(toHost.call(2, 'log', ['call']));
  h.runtime.receive(toHost.call(3, 'log', ['another call']));
  await sleep(10);
  assert.deepEqual(trace, ['job started'], 'the calls wait for the job');
  assert.equal(h.client.running(), 1, 'the job is marked as running in the slot');
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
  h.runtime.receive(toHost.call(1, 'first', []));
  h.runtime.receive(toHost.call(2, 'second', []));
  h.runtime.receive(toHost.call(3, 'third', []));
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
  h.runtime.receive(toHost.call(1, 'fails', []));
  await h.posted(1);
  assert.equal(h.messages[0].error.code, 'ERR_WASM_CPP_EXCEPTION');
  assert.match(h.messages[0].error.message, /uncaught C\+\+ exception at 0x1234/, 'no describer: the address');

  const described = host({ exports: {
    fails: () => { throw 0x1234; },
    ok: () => 'ok',
    wasmpoolDescribeException: (pointer) => `std::runtime_error\nboom at ${pointer}`,
  }, exportNames: ['fails', 'ok'] });
  described.runtime.receive(toHost.call(1, 'fails', []));
  described.runtime.receive(toHost.call(2, 'ok', []));
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
  h.runtime.receive(toHost.call(1, 'crowded', []));
  h.runtime.receive(toHost.call(2, 'plain', []));
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
  h.runtime.receive(toHost.call(4, 'traps', []));
  h.runtime.receive(toHost.call(5, 'next', []));
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
  h.runtime.receive(toHost.call(6, 'next', []));
  await sleep(5);
  assert.deepEqual(ran, []);
  assert.equal(h.messages.length, 1);
});

test("'unwind' (a thread died while the host waited) is a deferred crash: no thread, kind unknown; nothing more runs", async () => {
  const ran = [];
  const h = host({ exports: { waits: () => { throw 'unwind'; }, next: () => ran.push('next') } });
  h.runtime.receive(toHost.call(1, 'waits', []));
  h.runtime.receive(toHost.call(2, 'next', []));
  await h.posted(1);
  await sleep(10);
  assert.deepEqual(h.messages, [{ type: 'crash', thread: null, kind: 'unknown', deferred: true, stack: '',
    message: 'a thread died while the host waited in waits()' }]);
  assert.deepEqual(ran, []);
  assert.equal(h.runtime.usable, false);
  assert.equal(h.client.running(), 1);
});

test('a name that is not a callable export is ERR_WASM_UNKNOWN_EXPORT, even when the module lists it', async () => {
  const h = host({ exports: { f: () => 1, value: 7, constructor: () => 1 }, exportNames: ['f', 'value', 'constructor', 'gone'] });
  const names = ['nope', 'value', 'constructor', 'gone', 'toString'];
  names.forEach((name, i) => h.runtime.receive(toHost.call(i + 1, name, [])));
  await h.posted(names.length);
  for (const [i, message] of h.messages.entries()) {
    assert.equal(message.type, 'error');
    assert.equal(message.id, i + 1);
    assert.equal(message.error.code, 'ERR_WASM_UNKNOWN_EXPORT', names[i]);
    assert.equal(message.error.message, `${JSON.stringify(names[i])} is not an export of this module`);
  }
  // A host of jobs only has no instance: every call is unknown.
  const jobsOnly = host({ instance: null, exportNames: [] });
  jobsOnly.runtime.receive(toHost.call(1, 'f', []));
  assert.equal((await jobsOnly.posted(1))[0].error.code, 'ERR_WASM_UNKNOWN_EXPORT');
});

test('a result that views the wasm memory is copied out; other views go as they are', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const heap = new Uint8Array(memory.buffer);
  heap.set([1, 2, 3, 4], 16);
  const own = new Uint8Array([9]);
  const h = host({ memory, exports: { view: () => new Uint8Array(memory.buffer, 16, 4), own: () => own } });
  h.runtime.receive(toHost.call(1, 'view', []));
  h.runtime.receive(toHost.call(2, 'own', []));
  await h.posted(2);
  const { value } = h.messages[0];
  assert.notEqual(value.buffer, memory.buffer, 'not a view of the heap any more');
  heap[16] = 99;
  assert.deepEqual([...value], [1, 2, 3, 4], 'a copy: later writes to the heap do not show');
  assert.equal(h.messages[1].value, own);
});

test('a result that cannot be cloned is ERR_WASM_RESULT_NOT_CLONEABLE for that call', async () => {
  const h = host({ exports: { fn: () => ({ f() {} }), ok: () => 2 } });
  h.runtime.receive(toHost.call(1, 'fn', []));
  h.runtime.receive(toHost.call(2, 'ok', []));
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
  h.runtime.receive(toHost.job(1, jobUrl('export const x = 1;'), null));
  h.runtime.receive(toHost.job(2, jobUrl(`export default (input, { module, memory }) =>
    ({ answer: module.answer(), pages: memory.buffer.byteLength / 65536, input })`), 'in'));
  await h.posted(2);
  assert.equal(h.messages[0].error.code, 'ERR_WASM_JOB_NOT_A_FUNCTION');
  assert.deepEqual(h.messages[1], { type: 'result', id: 2, value: { answer: 42, pages: 1, input: 'in' } });
});

test('the slot path: a call taken from the slot is answered there; errors and results that do not fit go by message, and main is told', async () => {
  const h = host({ exports: { add: (a, b) => a + b, fails: () => { throw new Error('no'); }, big: () => new Uint8Array(CAPACITY) } });
  h.runtime.serve();
  assert.deepEqual(await h.client.send(1, 'add', [2, 3]), { id: 1, kind: RESPONSE_IN_SLOT, value: 5 });
  // Straight after it: taken while the host spins, or when the slot wakes it.
  assert.deepEqual(await h.client.send(2, 'add', [4, 5]), { id: 2, kind: RESPONSE_IN_SLOT, value: 9 });
  assert.equal(h.messages.length, 0, 'nothing posted for calls answered in the slot');
  assert.deepEqual(await h.client.send(3, 'fails', []), { id: 3, kind: RESPONSE_BY_MESSAGE });
  assert.equal(h.messages[0].id, 3);
  assert.equal(h.messages[0].error.message, 'no');
  assert.deepEqual(await h.client.send(4, 'big', []), { id: 4, kind: RESPONSE_BY_MESSAGE });
  assert.equal(h.messages[1].id, 4);
  assert.equal(h.messages[1].value.length, CAPACITY);
});

test('a call in the slot runs before a message call that arrives after it', async () => {
  const ran = [];
  const h = host({ exports: { mark: (id) => ran.push(id) } });
  // No serve(): the slot is read only because a message arrives.
  const inSlot = h.client.send(1, 'mark', [1]);
  h.runtime.receive(toHost.call(2, 'mark', [2]));
  assert.equal((await inSlot).kind, RESPONSE_IN_SLOT);
  await h.posted(1);
  assert.deepEqual(ran, [1, 2]);
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
