// A full garbage collection of this thread's isolate: what a warm restart calls once the
// dead generation is unreachable.
//
// Why it is needed: a generation leaves garbage that V8 does not see as pressure (a wasm
// instance's native parts, compiled embind invokers, the memory's wrappers), in isolates
// that allocate little JavaScript between restarts (the host, the pool threads). Left to
// itself, V8 collects it late, and a server restarting often carries hundreds of MiB of it
// (measured: 90 -> 300 MiB of RSS over 500 warm restarts; flat with a collection after
// each). Node exposes gc() only under --expose-gc, so the flag is set for as long as it
// takes to take the function from a fresh context, then cleared: no other context of the
// process gets a global gc(). The flag is process-wide and other threads of the process set
// and clear it too, so a context made just after one of them cleared it is tried again. A
// process started with --expose-gc has gc() everywhere: then the flag is never touched.
'use strict';
const v8 = require('node:v8');
const vm = require('node:vm');

let gc = null;

// A full collection costs milliseconds of CPU per isolate (measured: ~12 ms in the host,
// ~4 ms in a pool thread's worker), so it runs at every COLLECT_EVERY-th generation an
// isolate leaves behind: at most that many dead generations wait for it, for a fraction
// of the CPU.
const COLLECT_EVERY = 4;
let generations = 0;

/**
 * Counts one dead generation, and collects when it is the COLLECT_EVERY-th. `wait`:
 * collect now, before returning (a thread that is about to block in wasm for good never
 * runs the tasks an asynchronous collection needs). Otherwise it is started and runs as
 * tasks of this thread's event loop.
 */
function collectGarbage({ wait = false } = {}) {
  if (++generations % COLLECT_EVERY !== 0) return;
  // Under --expose-gc (the user's flag) it is there already, and the flag is left alone.
  if (!gc && typeof globalThis.gc === 'function') gc = globalThis.gc;
  if (!gc) {
    for (let attempt = 0; !gc && attempt < 10; attempt++) {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('typeof gc === "function" ? gc : null');
    }
    v8.setFlagsFromString('--no-expose-gc');
  }
  gc?.({ type: 'major', execution: wait ? 'sync' : 'async' });
}

module.exports = { collectGarbage };
