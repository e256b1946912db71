// Decoding the shared-memory records by the layout C++ reports, without Emscripten: a
// record written by the rules of src/runtime/crash_record.hpp into a plain shared memory.
// The real module's layout is checked against the same decoder in layout.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCrashRecord, readProgress } from '../../../glue/main/crash-record.js';

const LAYOUT = {
  address: 256, state: 0, thread: 4, kind: 8, length: 12, pthread: 16, message: 20, capacity: 64,
  kinds: ['unknown', 'trap', 'abort', 'oob', 'stack-overflow', 'exception', 'terminate', 'out-of-memory'],
  // Not C++'s values (0, 1, 2): the decoder must take them from the layout.
  states: { empty: 0, writing: 5, complete: 7 },
};

function write(memory, { state = LAYOUT.states.complete, thread, kind, pthread, message }) {
  const words = new Int32Array(memory.buffer, LAYOUT.address, 5);
  const bytes = new TextEncoder().encode(message);
  new Uint8Array(memory.buffer, LAYOUT.address + LAYOUT.message, bytes.length).set(bytes);
  words[1] = thread;
  words[2] = LAYOUT.kinds.indexOf(kind);
  words[3] = bytes.length;
  words[4] = pthread;
  words[0] = state;
}

test('a complete record decodes: thread, pthread, kind by name, message', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  assert.equal(readCrashRecord(memory, LAYOUT), null, 'empty');
  write(memory, { thread: 3, kind: 'terminate', pthread: 0x90a0f0, message: 'std::terminate() was called' });
  assert.deepEqual(readCrashRecord(memory, LAYOUT), {
    thread: 3, pthread: 0x90a0f0, kind: 'terminate', message: 'std::terminate() was called',
  });
});

test('a record still being written is not read; an unknown kind reads as unknown', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  write(memory, { state: LAYOUT.states.writing, thread: 0, kind: 'trap', pthread: 1, message: 'half' });
  assert.equal(readCrashRecord(memory, LAYOUT), null);
  write(memory, { thread: -1, kind: 'trap', pthread: 0, message: 'x' });
  new Int32Array(memory.buffer, LAYOUT.address, 3)[2] = 99;
  assert.equal(readCrashRecord(memory, LAYOUT).kind, 'unknown');
  assert.equal(readCrashRecord(memory, null), null, 'a module without the runtime has no record');
});

test('progress is the sum of the shared word and every worker slot, and changes with any of them', () => {
  const layout = { address: 1024, progressOffset: 0, workerProgressOffset: 64, workerProgressStride: 64, workers: 4 };
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const words = new Uint32Array(memory.buffer);
  const slot = (i) => (layout.address + layout.workerProgressOffset + i * layout.workerProgressStride) >> 2;
  assert.equal(readProgress(memory, layout), 0);
  words[layout.address >> 2] = 5;
  words[slot(0)] = 1;
  words[slot(3)] = 0xffffffff;
  assert.equal(readProgress(memory, layout), (5 + 1 + 0xffffffff) >>> 0, 'wraps mod 2^32');
  const before = readProgress(memory, layout);
  words[slot(2)] += 1;
  assert.notEqual(readProgress(memory, layout), before);
});
