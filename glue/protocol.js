// The messages between Node's main thread (HostSession), the host worker (host.js) and
// the pthreads (the pthread hooks), in one place: their types, the fields each must carry,
// constructors for the ones main and the host build, and the guard main applies to
// everything it receives. The pthread hooks are pasted into generated glue and cannot
// import this file: they build the thread messages below with the same fields, and main
// checks every one of them with isThreadMessage() before acting on it, so a drift shows up
// as a refused message in the tests that provoke each fault for real.

/** Log levels of wasmpool::log, by their numeric value in C++ (runtime/thread_log.hpp). */
export const LOG_LEVELS = Object.freeze(['trace', 'debug', 'info', 'warn', 'error']);

// type -> required fields (beyond `type`)
// A call made while none is in flight travels through the call slot (call-slot.js) instead,
// with the same fields; its result comes back there too, its errors as `error` messages.
const MAIN_TO_HOST = {
  call: ['id', 'name', 'args'], // run export `name`; args are structured-cloned
  job: ['id', 'url', 'input'], // run the default export of module `url` in the host (manager.run())
  terminate: [], // exitThreadPool() (if the runtime is there), then exit the worker
};

const HOST_TO_MAIN = {
  ready: ['runtime', 'hostPthread', 'startMs'], // runtime: runtimeInfo() or null without the runtime
  heartbeat: [],
  result: ['id', 'value'],
  error: ['id', 'error'], // the export threw; the host is fine. error: { name, message, code, stack }
  crash: ['thread', 'kind', 'message', 'stack'], // the host thread faulted, or (deferred: true) saw a thread die
  'log-host': ['entry'], // wasmpool::log on the host thread itself
  stdout: ['text'], // printf/std::cout of the module (pthreads' C output is proxied to the host)
  stderr: ['text'],
  'start-failed': ['error'],
  'thread-port': ['channel', 'port'], // the main end of a new pthread worker's channel
  'thread-limit': ['live', 'limit'], // pthread_create was refused past threads + maxExtraThreads
};

const THREAD_TO_MAIN = {
  bind: ['channel', 'thread', 'pthread'], // this worker runs pool thread `thread`
  log: ['channel', 'thread', 'pthread', 'level', 'message', 'time'],
  crash: ['channel', 'thread', 'pthread', 'kind', 'message', 'stack', 'time'],
  output: ['channel', 'thread', 'pthread', 'stream', 'text', 'time'], // text the pthread printed from JS
};

function conforms(table, message) {
  if (message === null || typeof message !== 'object') return false;
  const fields = table[message.type];
  return fields !== undefined && fields.every((field) => field in message);
}

/** A well-formed message from the host worker. */
export function isHostMessage(message) {
  return conforms(HOST_TO_MAIN, message);
}

/** A well-formed message from a pthread's own channel. */
export function isThreadMessage(message) {
  return conforms(THREAD_TO_MAIN, message);
}

/** A well-formed message from main (the host's guard). */
export function isMainMessage(message) {
  return conforms(MAIN_TO_HOST, message);
}

// Constructors: the only way main and the host build messages.
export const toHost = Object.freeze({
  call: (id, name, args) => ({ type: 'call', id, name, args }),
  job: (id, url, input) => ({ type: 'job', id, url, input }),
  terminate: () => ({ type: 'terminate' }),
});

export const toMain = Object.freeze({
  ready: (runtime, hostPthread, startMs) => ({ type: 'ready', runtime, hostPthread, startMs }),
  heartbeat: () => ({ type: 'heartbeat' }),
  result: (id, value) => ({ type: 'result', id, value }),
  error: (id, error) => ({ type: 'error', id, error }),
  crash: ({ thread, kind, message, stack = '', deferred = false }) => ({ type: 'crash', thread, kind, message, stack, deferred }),
  logHost: (entry) => ({ type: 'log-host', entry }),
  output: (stream, text) => ({ type: stream, text }),
  startFailed: (error) => ({ type: 'start-failed', error }),
  threadPort: (channel, port) => ({ type: 'thread-port', channel, port }),
  threadLimit: (live, limit) => ({ type: 'thread-limit', live, limit }),
});
