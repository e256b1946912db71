// Reads the crash record a dying thread (or the C++ terminate/new handlers) wrote into the
// shared memory, and the progress counters the watchdog compares. Main keeps the memory of
// every host it made, so the record is readable even after the host and all its threads
// are gone. The layouts are not repeated here: C++ (src/runtime/crash_record.hpp,
// src/wasmpool/runtime_hooks.hpp) reports them in runtimeInfo() and this file reads by them.
/** @returns {{thread:number, pthread:number, kind:string, message:string} | null} */
export function readCrashRecord(memory, layout) {
  if (!memory || !layout) return null;
  const view = new Int32Array(memory.buffer, layout.address, layout.message >> 2);
  if (Atomics.load(view, layout.state >> 2) !== layout.states.complete) return null;
  const length = Math.min(Atomics.load(view, layout.length >> 2) >>> 0, layout.capacity);
  const bytes = new Uint8Array(memory.buffer, layout.address + layout.message, length).slice();
  return {
    thread: Atomics.load(view, layout.thread >> 2),
    pthread: Atomics.load(view, layout.pthread >> 2) >>> 0,
    kind: layout.kinds[Atomics.load(view, layout.kind >> 2)] ?? 'unknown',
    message: new TextDecoder().decode(bytes),
  };
}

/**
 * One number that changes whenever any thread completes a task or reports progress: the
 * sum (mod 2^32) of the shared progress word and every worker's own slot.
 */
export function readProgress(memory, layout) {
  if (!memory || !layout) return 0;
  const words = new Uint32Array(memory.buffer, layout.address,
    (layout.workerProgressOffset + layout.workers * layout.workerProgressStride) >> 2);
  let sum = Atomics.load(words, layout.progressOffset >> 2);
  for (let i = 0; i < layout.workers; i++) {
    sum = (sum + Atomics.load(words, (layout.workerProgressOffset + i * layout.workerProgressStride) >> 2)) >>> 0;
  }
  return sum;
}
