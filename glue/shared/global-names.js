// Names this project puts on objects it does not own (globalThis, workerData, an
// Emscripten Module), in one place. Code pasted into generated glue (the pthread hooks, the
// patch's rewrites) is plain text and spells them literally; each literal there is listed
// here with where it lives, so a rename is one search.
//
// globalThis, on Node's main thread and in the host:
//   __wasmProxy            the router patched exports consult (proxy.js installs it)
// globalThis, in the host:
//   __wasmpoolHostConfig   channels, thread limit and log for patched glue a job loads (host.js)
// globalThis, in every supervised worker:
//   __wasmpoolClassify     fault-kind.js's classify, for the pthread hooks (worker-bootstrap.js)
//   __wasmpoolCrashReported set by the pthread hooks once they reported this thread's death,
//                          so the bootstrap's backstop notice is not sent twice
// Emscripten Module (patched glue): __wasmpool (hooks config), __wasmpoolStart,
//   __wasmpoolClassify, __wasmpoolPrintErr, __wasmProxyExports, __wasmProxyModuleId
//   (pthread-hooks.js, patch/rewrites/*).

/** The key of workerData under which a supervised worker's bootstrap finds its config. */
export const BOOTSTRAP_KEY = '__wasmpoolBootstrap';

/** Set by the pthread hooks when they reported the thread's death themselves. */
export const CRASH_REPORTED = '__wasmpoolCrashReported';

/** fault-kind.js's classifier, published in every supervised worker for the pthread hooks. */
export const CLASSIFY = '__wasmpoolClassify';
