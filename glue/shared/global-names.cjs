// Names this project puts on objects it does not own (globalThis, workerData, an
// Emscripten Module, the glue's own scope), in one place. Code pasted into generated glue
// (the pthread hooks, the patch's rewrites) is plain text and spells them literally; each
// is listed here with where it lives, so a rename is one search. CommonJS, like the other
// helpers a supervised worker's bootstrap loads (worker-bootstrap.cjs).
//
// globalThis, on Node's main thread and in the host:
//   __wasmProxy              the router patched exports consult (main/proxy.js installs it)
// globalThis, in the host:
//   __wasmpoolHostConfig     channels, thread limit and log for patched glue a job loads (host/host.cjs)
// globalThis, in the host and every supervised worker:
//   __wasmpoolClassify       shared/fault-kind.cjs's classifier, for the pthread hooks
//   __wasmpoolCrashReported  set by the pthread hooks once they reported this thread's death,
//                            so the bootstrap's backstop notice is not sent twice
//   __wasmpoolCrashKeepsGlue set by the pthread hooks with that report: true when the fault
//                            was a wasm trap that left the glue's JavaScript as it was, so a
//                            warm restart in place may keep this worker's glue
//   __wasmpoolPoolThread     set by the pthread hooks: the pool index of the thread this
//                            worker runs, -1 for any other pthread
// workerData of a supervised worker:
//   __wasmpoolBootstrap      its bootstrap's config (BOOTSTRAP_KEY below)
// The glue's scope (pthread/pthread-hooks.js, a pre-js):
//   __wasmpoolHooks          the hooks' object, called from C++ through EM_JS (bindThread, log)
// Emscripten Module of patched glue, set by the host or the hooks:
//   __wasmpool               the hooks' config (host/host.cjs)
//   __wasmpoolStart          prewarm and runtime info, called by the host after instantiation
//   __wasmpoolPrintErr       the pthread side's printErr, for the patched worker file
//   __wasmProxyExports, __wasmProxyModuleId, __wasmpoolModuleId, __wasmpoolExports
//                            what the patch's prelude publishes about the module's exports
// Names inside patched glue only (patch/rewrites/*: prelude, raw-exports, embind, ccall,
// esm-shims, wasm-loading, worker-file): __wasmpoolRoute, __wasmpoolStock,
// __wasmpoolStockOf, __wasmpoolIsNode, __wasmpoolCreateRequire, __wasmpoolPublish,
// __wasmpoolEmbindFunctions, __wasmpoolEmbindName, __wasmpoolReplaceFunction,
// __wasmpoolExposeFunction, __wasmpoolStockReplacePublicSymbol,
// __wasmpoolStockExposePublicSymbol, __wasmpoolWorkerQueuesEarlyRun.
// On a worker object or a function the hooks wrap: __wasmpoolPortPending, __wasmpoolWrapped.
// Registries under Symbol.for() keys on globalThis (so two copies of the package share
// them): 'wasm-threadpool.proxy.v1' (main/proxy.js), 'wasm-threadpool.instance-workers.v1'
// (main/instance-workers.js and the hooks' user side).

'use strict';

/** The key of workerData under which a supervised worker's bootstrap finds its config. */
const BOOTSTRAP_KEY = '__wasmpoolBootstrap';

/** Set by the pthread hooks when they reported the thread's death themselves. */
const CRASH_REPORTED = '__wasmpoolCrashReported';
/** Set with CRASH_REPORTED: the fault left the glue usable (a trap, not abort()). */
const CRASH_KEEPS_GLUE = '__wasmpoolCrashKeepsGlue';
/** Set by the pthread hooks: the pool index of the thread this worker runs, or -1. */
const POOL_THREAD = '__wasmpoolPoolThread';

/** fault-kind.cjs's classifier, published in every supervised worker for the pthread hooks. */
const CLASSIFY = '__wasmpoolClassify';

module.exports = { BOOTSTRAP_KEY, CRASH_REPORTED, CRASH_KEEPS_GLUE, POOL_THREAD, CLASSIFY };
