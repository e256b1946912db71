// The pthread side of glue/pthread/pthread-hooks.js, run as the glue runs it (its text, in a vm
// context standing for a pthread worker's global scope), against the decoder main uses
// (glue/main/crash-record.js) on a shared memory, and the guard main applies to what arrives
// on a thread's port (glue/shared/protocol.cjs). The layout is the one C++ reports
// (src/runtime/crash_record.hpp; layout.test.js checks it against a real module).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { MessageChannel } from 'node:worker_threads';
import { readCrashRecord } from '../../../glue/main/crash-record.js';
import { isThreadCommand, isThreadMessage, toThread } from '../../../glue/shared/protocol.cjs';

import { classifyFault } from '../../../glue/shared/fault-kind.cjs';
import { CLASSIFY } from '../../../glue/shared/global-names.cjs';

const HOOKS = readFileSync(new URL('../../../glue/pthread/pthread-hooks.js', import.meta.url), 'utf8');

const CRASH_RECORD = {
  address: 4096, state: 0, thread: 4, kind: 8, length: 12, pthread: 16, message: 20, capacity: 2048,
  kinds: ['unknown', 'trap', 'abort', 'oob', 'stack-overflow', 'exception', 'terminate', 'out-of-memory'],
  states: { empty: 0, writing: 1, complete: 2 },
};
const PTHREAD = 0x12a40;

// A pthread worker's global scope with the glue's locals the hooks read, the hooks loaded
// in it, and main's end of the thread's channel. `handler` is the worker's message handler:
// given here, it is in place before the glue loads (3.1.x worker files); else the test
// assigns it afterwards (glue that is its own worker).
function pthreadWorker(t, handler) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const Module = { ENVIRONMENT_IS_PTHREAD: true };
  // The supervised worker's bootstrap publishes the classifier the hooks use.
  const context = vm.createContext({ Module, wasmMemory: memory, TextEncoder, console, [CLASSIFY]: classifyFault,
    ...(handler ? { onmessage: handler } : {}) });
  vm.runInContext(HOOKS, context, { filename: 'pthread-hooks.js' });
  if (!handler) context.onmessage = (e) => context.handle(e);
  const { port1, port2 } = new MessageChannel();
  t.after(() => port1.close());
  const received = [];
  port1.on('message', (message) => received.push(message));
  // What the host sends first: the port, with the runtime's layouts.
  const command = toThread.port(port2, 3, { crashRecord: CRASH_RECORD });
  assert.ok(isThreadCommand(command));
  context.onmessage({ data: command });
  return { memory, context, received, arrived: (count) => waitForMessages(received, count) };
}

async function waitForMessages(received, count) {
  for (let i = 0; i < 200 && received.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  return received;
}

test('an out-of-bounds trap in a pthread: the crash record has its kind, message and pthread, and a crash notice with the protocol\'s fields goes to main', async (t) => {
  const seen = [];
  // The glue's own handler: it runs pool thread 1 (the C++ runtime binds it), then faults.
  const { memory, context, arrived } = pthreadWorker(t, (e) => {
    seen.push(e.data.cmd);
    if (e.data.cmd === 'run') {
      context.__wasmpoolHooks.bindThread(1);
      throw new WebAssembly.RuntimeError('memory access out of bounds');
    }
  });
  assert.equal(readCrashRecord(memory, CRASH_RECORD), null, 'empty before');
  context.onmessage({ data: { cmd: 'load' } });
  assert.throws(() => context.onmessage({ data: { cmd: 'run', pthread_ptr: PTHREAD } }),
    (error) => error instanceof WebAssembly.RuntimeError, 'the fault still propagates (the glue and the worker die as before)');
  assert.deepEqual(seen, ['load', 'run'], 'the glue\'s handler got every message but the port');

  assert.deepEqual(readCrashRecord(memory, CRASH_RECORD),
    { thread: 1, pthread: PTHREAD, kind: 'oob', message: 'memory access out of bounds' });

  const [crash] = await arrived(1);
  assert.ok(isThreadMessage(crash), `protocol.cjs accepts it: ${JSON.stringify(crash)}`);
  assert.equal(crash.type, 'crash');
  assert.equal(crash.channel, 3);
  assert.equal(crash.thread, 1);
  assert.equal(crash.pthread, PTHREAD);
  assert.equal(crash.kind, 'oob');
  assert.equal(crash.message, 'memory access out of bounds');
  assert.match(crash.stack, /RuntimeError: memory access out of bounds/);
  assert.equal(typeof crash.time, 'number');
  assert.equal(context.__wasmpoolCrashReported, true, 'the worker bootstrap is told to stay silent');
});

test('a kind C++ wrote first wins; the record keeps the first crash; unwind is no fault; a handler assigned later is wrapped', async (t) => {
  const { memory, context, received, arrived } = pthreadWorker(t);
  // std::terminate's handler wrote the record (kind terminate) before the abort reached JS.
  const words = new Int32Array(memory.buffer, CRASH_RECORD.address, 5);
  const text = new TextEncoder().encode('std::terminate() was called');
  new Uint8Array(memory.buffer, CRASH_RECORD.address + CRASH_RECORD.message).set(text);
  Object.assign(words, { 1: 0, 2: CRASH_RECORD.kinds.indexOf('terminate'), 3: text.length, 4: PTHREAD });
  let fault = 'unwind';
  context.handle = (e) => {
    if (e.data.cmd === 'run') throw fault;
  };
  assert.throws(() => context.onmessage({ data: { cmd: 'run', pthread_ptr: PTHREAD } }), (e) => e === 'unwind');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(received, [], 'Emscripten\'s unwind is control flow, not a crash');

  Atomics.store(words, 0, CRASH_RECORD.states.complete);
  fault = new Error('Aborted(native code called abort())');
  assert.throws(() => context.onmessage({ data: { cmd: 'run', threadInfoStruct: PTHREAD + 64 } }));
  const [crash] = await arrived(1);
  assert.ok(isThreadMessage(crash));
  assert.equal(crash.kind, 'terminate', 'the record\'s kind, not the JS error\'s (abort)');
  assert.equal(crash.pthread, PTHREAD + 64, '3.1.x names the thread threadInfoStruct');
  assert.equal(crash.thread, -1, 'not bound to a pool thread');
  assert.deepEqual(readCrashRecord(memory, CRASH_RECORD),
    { thread: 0, pthread: PTHREAD, kind: 'terminate', message: 'std::terminate() was called' }, 'first crash wins');
});

test('fault kinds: a trap seen through a worker\'s error event (a copy named RuntimeError) is still a trap', async () => {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker('new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, ' +
    '1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11]))).exports.f();', { eval: true });
  const copy = await new Promise((resolve) => worker.once('error', resolve));
  assert.ok(!(copy instanceof WebAssembly.RuntimeError), 'Node hands the parent a copy');
  assert.equal(classifyFault(copy), 'trap');
  assert.equal(classifyFault(new WebAssembly.RuntimeError('unreachable')), 'trap');
  assert.equal(classifyFault(new Error('not a fault')), 'unknown');
});
