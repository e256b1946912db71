// Messages between the manager (main thread), the host worker and the pool threads.
// Main -> host (host.postMessage):
//   { type: 'call', id, name, args }      run export `name`; args are structured-cloned
//   { type: 'terminate' }                 exitThreadPool() then exit the worker
// Host -> main (parentPort):
//   { type: 'ready', runtime, startMs }  runtime: shared-heap addresses (hooks, crash record)
//   { type: 'heartbeat' }
//   { type: 'result', id, value }
//   { type: 'error', id, error: { name, message, code, stack } }   the export threw; host is fine
//   { type: 'crash', thread: -1, kind, message, stack }          the host thread itself faulted
//   { type: 'crash', deferred: true, ... }  a pool thread died while the host waited (Emscripten's
//                                         crash flag interrupted the wait); details follow on its port
//   { type: 'log-host', entry }           wasmpool::log called on the host thread itself
//   { type: 'stdout' | 'stderr', text }   printf/std::cout of the module (pool threads' output
//                                         is proxied to the host thread by Emscripten)
//   { type: 'start-failed', error }       instantiation or initThreadPool failed
// Pool thread -> main (its own MessagePort, one per thread, made by main):
//   { type: 'bind', channel, thread }     this channel belongs to pool worker `thread`
//   { type: 'log', channel, thread, level, message, time }
//   { type: 'crash', channel, thread, kind, message, stack, time }
//   { type: 'output', channel, thread, stream, text, time }   text the pthread printed from JS
export const LOG_LEVELS = Object.freeze(['trace', 'debug', 'info', 'warn', 'error']);
