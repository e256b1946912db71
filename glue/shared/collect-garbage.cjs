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

// A full collection costs milliseconds of CPU per isolate, most of it marking what is
// alive, whatever the garbage (measured: ~12 ms in the host, ~4 ms in a pool thread's
// worker), so it waits until enough dead generations add up to be worth one. What one
// leaves depends on how it ended: a whole instance (a recycled worker's glue, a host that
// made a new instance) justifies a collection every fourth time; a host reset in place
// leaves only the dead generation's channels, call rings and session, and collecting one
// in four of those was the larger part of a crash's CPU (a trap and a call: 9.3 -> 5.9 ms
// of the process's CPU per cycle at one in 32, for the same RSS over 3000 cycles: 126 and
// 129 MiB). Counted in thirty-seconds of a collection.
const SHARE = { instance: 8, 'reset-in-place': 1 };
const DUE = 32;
let owed = 0;

/**
 * Counts one dead generation (`left`: what it left behind, a key of SHARE), and collects
 * once those counted since the last collection add up to one. `wait`: collect now,
 * before returning (a thread that is about to block in wasm for good never runs the
 * tasks an asynchronous collection needs). Otherwise it is started and runs as tasks of
 * this thread's event loop.
 */
function collectGarbage({ left = 'instance', wait = false } = {}) {
  const share = SHARE[left];
  if (share === undefined) throw new TypeError(`collectGarbage: unknown kind of generation ${JSON.stringify(left)}`);
  owed += share;
  if (owed < DUE) return;
  owed = 0;
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
