// What kind of fault a JS-visible error is, and which errors are faults at all. One
// definition for the host thread (host.cjs) and every thread it starts (worker-bootstrap.cjs,
// which also publishes it to the pthread hooks pasted into patched glue). CommonJS, so the
// bootstrap loads it without Node's ES module loader.
//
// A fault leaves a wasm instance in an unknown state (a lock held, a stack half unwound),
// so the thread it happened on is done for. Everything else an export or a job throws (a
// C++ exception, embind's argument checks, a JS error) leaves the instance usable.
'use strict';

/**
 * The fault kind of `error`, or 'unknown'. C++ handlers may already have written a more
 * precise kind into the crash record (terminate, failed allocation); that one wins.
 * @returns {'exception'|'stack-overflow'|'oob'|'out-of-memory'|'abort'|'trap'|'unknown'}
 */
function classifyFault(error) {
  if (typeof error === 'number') return 'exception';
  const text = String(error?.message ?? error);
  if (/Stack overflow|Maximum call stack size exceeded/i.test(text)) return 'stack-overflow';
  if (/out of bounds/i.test(text)) return 'oob';
  if (/OOM|Cannot enlarge memory|out of memory|bad_alloc/i.test(text)) return 'out-of-memory';
  if (/^Aborted|Aborted\(/.test(text)) return 'abort';
  // A trap of another thread, as its worker's 'error' event carries it: a copy, an Error
  // named RuntimeError.
  if (error instanceof WebAssembly.RuntimeError || error?.name === 'RuntimeError') return 'trap';
  return 'unknown';
}

/**
 * Whether `error`, thrown on a thread that runs wasm, ends that thread's instance: a trap
 * (WebAssembly.RuntimeError, which abort() throws too) or a stack overflow (V8's
 * RangeError, which wasm frames deep in the stack produce as often as JS ones).
 */
function isFault(error) {
  return error instanceof WebAssembly.RuntimeError ||
    (error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message));
}

/** Emscripten's own control flow, never a fault: 'unwind', and exit()'s ExitStatus. */
function isControlFlow(error) {
  return error === 'unwind' || error?.name === 'ExitStatus';
}

/** The fault's message as the user should read it. */
function describeFault(error) {
  if (typeof error === 'number') return `uncaught C++ exception (thrown object at 0x${error.toString(16)})`;
  if (error?.message) return String(error.message);
  return String(error);
}

module.exports = { classifyFault, isFault, isControlFlow, describeFault };
