// Reads the crash record a dying pool thread (or the C++ terminate/new handlers) wrote
// into the shared memory. Main keeps the memory of every host it made, so the record is
// readable even after the host and all its threads are gone. Layout: see
// src/runtime/crash_record.hpp.
const KINDS = ['unknown', 'trap', 'abort', 'oob', 'stack-overflow', 'exception', 'terminate', 'out-of-memory'];
const STATE_COMPLETE = 2;
const MESSAGE_OFFSET = 16;

export function readCrashRecord(memory, address) {
  if (!memory || !address) return null;
  const words = new Int32Array(memory.buffer, address, 4);
  if (Atomics.load(words, 0) !== STATE_COMPLETE) return null;
  const length = Atomics.load(words, 3);
  const bytes = new Uint8Array(memory.buffer, address + MESSAGE_OFFSET, length).slice();
  return {
    thread: Atomics.load(words, 1),
    kind: KINDS[Atomics.load(words, 2)] ?? 'unknown',
    message: new TextDecoder().decode(bytes),
  };
}
