// The messages between Node's main thread (HostSession), the host worker (host.cjs) and
// the threads (the pthread hooks, the supervised workers' bootstrap), in one place: their
// types, the fields each must carry and their types, constructors for the ones main and
// the host build, and the guard main applies to everything it receives. The pthread hooks are pasted into generated glue and cannot
// import this file: they build the thread messages below with the same fields, and main
// checks every one of them with isThreadMessage() before acting on it, so a drift shows up
// as a refused message in the tests that provoke each fault for real.

'use strict';

/** Log levels of wasmpool::log, by their numeric value in C++ (runtime/thread_log.hpp). */
const LOG_LEVELS = Object.freeze(['trace', 'debug', 'info', 'warn', 'error']);

// type -> { field: its type } (beyond `type`). Types are typeof's answers, plus 'array',
// 'integer' and 'any'; every listed field must be present with that type.
// Calls travel through the call ring (call-ring.cjs) with the same fields; only a call the
// ring cannot carry, and a job, come as these messages, on the request port, with their
// place marked in the ring. Answers in the ring need no message; errors and results the
// ring cannot carry come as `error` and `result` messages on the output channel.
const MAIN_TO_HOST = {
  call: { id: 'integer', name: 'string', args: 'array' }, // run export `name`; args are structured-cloned
  job: { id: 'integer', url: 'string', input: 'any' }, // run the default export of module `url` in the host (manager.run())
  terminate: {}, // exitThreadPool() (if the runtime is there), then exit the worker
  // Requests sat untaken in the call ring while the host ran nothing: its wake-up was lost
  // (call-ring.cjs). The host takes them now (HostRuntime.poll), as at its heartbeat.
  poll: {},
  // A host started before main had its module (host-preboot.js) gets what it would have had
  // as workerData (the module, the memory, its first generation's channels) as its first
  // message.
  start: { data: 'object' },
  // After a crash: a new generation in the same worker, with its own channels (host.cjs,
  // renew), instead of a new worker. The host resets its memory or makes a new one, and
  // says which in 'ready'. Sent on the worker's parent port.
  renew: { cancelRing: 'object', callRings: 'object', requestPort: 'object', outputPort: 'object' },
};

const HOST_TO_MAIN = {
  // runtime: runtimeInfo(), or null without the runtime; memory: the instance's (patched
  // glue; the one main made, or after a renew the one the host reset or made), else null
  // poolRunning: false while the pool's threads are still starting ('pool-running' follows)
  ready: { runtime: 'object', hostPthread: 'integer', startMs: 'number', memory: 'object', poolRunning: 'boolean' },
  'pool-running': {}, // every pool thread of the instance runs (after a ready with poolRunning false)
  heartbeat: {},
  renewing: {}, // 'renew' was read: what came before it on the parent port is the old generation's
  result: { id: 'integer', value: 'any' },
  error: { id: 'integer', error: 'object' }, // the export threw; the host is fine. error: { name, message, code, stack }
  // The host thread faulted (thread -1), or (deferred: true, thread null) saw a thread die;
  // exiting: true when the host worker ends right after it.
  crash: { thread: 'any', kind: 'string', message: 'string', stack: 'string' },
  'log-host': { entry: 'object' }, // wasmpool::log on the host thread itself
  stdout: { text: 'string' }, // printf/std::cout of the module (pthreads' C output is proxied to the host)
  stderr: { text: 'string' },
  'start-failed': { error: 'object' },
  'thread-port': { channel: 'integer', port: 'object' }, // the main end of a new worker's channel
  'thread-limit': { live: 'integer', limit: 'integer' }, // a thread was refused past threads + maxExtraThreads
};

// Sent by the pthread hooks (pool index, crash record) and by every supervised worker's
// bootstrap (worker-bootstrap.cjs: crash, output).
const THREAD_TO_MAIN = {
  log: { channel: 'integer', thread: 'integer', pthread: 'integer', level: 'integer', message: 'string', time: 'number' },
  crash: { channel: 'integer', thread: 'integer', pthread: 'integer', kind: 'string', message: 'string', stack: 'string',
    time: 'number' },
  // text the thread printed from JS
  output: { channel: 'integer', thread: 'integer', pthread: 'integer', stream: 'string', text: 'string', time: 'number' },
};

// The host's commands to a pthread worker of patched glue, read by the pthread hooks
// (pasted into the glue, so they spell these names themselves; tests/js/unit/pthread-hooks
// builds its commands with toThread, so a drift fails there).
const HOST_TO_THREAD = {
  'wasmpool:port': { port: 'object', channel: 'integer', runtime: 'any' }, // the thread's channel to main, and runtimeInfo()
  'wasmpool:runtime': { runtime: 'any' }, // runtimeInfo(), for workers prewarmed before it was known
};

function hasType(value, type) {
  switch (type) {
    case 'any':
      return true;
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}

function conforms(table, message, key = 'type') {
  if (message === null || typeof message !== 'object') return false;
  const fields = Object.hasOwn(table, message[key]) ? table[message[key]] : undefined;
  return fields !== undefined && Object.entries(fields).every(([field, type]) => field in message && hasType(message[field], type));
}

/** A well-formed message from the host worker. */
function isHostMessage(message) {
  return conforms(HOST_TO_MAIN, message);
}

/** A well-formed message from a pthread's own channel. */
function isThreadMessage(message) {
  return conforms(THREAD_TO_MAIN, message);
}

/** A well-formed message from main (the host's guard). */
function isMainMessage(message) {
  return conforms(MAIN_TO_HOST, message);
}

/** A well-formed command from the host to a pthread worker (what the pthread hooks accept). */
function isThreadCommand(message) {
  return conforms(HOST_TO_THREAD, message, 'cmd');
}

// Constructors: the only way main and the host build messages.
const toHost = Object.freeze({
  call: (id, name, args) => ({ type: 'call', id, name, args }),
  job: (id, url, input) => ({ type: 'job', id, url, input }),
  terminate: () => ({ type: 'terminate' }),
  poll: () => ({ type: 'poll' }),
  start: (data) => ({ type: 'start', data }),
  renew: ({ cancelRing, callRings, requestPort, outputPort }) =>
    ({ type: 'renew', cancelRing, callRings, requestPort, outputPort }),
});

const toMain = Object.freeze({
  ready: (runtime, hostPthread, startMs, memory = null, poolRunning = true) =>
    ({ type: 'ready', runtime, hostPthread, startMs, memory, poolRunning }),
  poolRunning: () => ({ type: 'pool-running' }),
  heartbeat: () => ({ type: 'heartbeat' }),
  renewing: () => ({ type: 'renewing' }),
  result: (id, value) => ({ type: 'result', id, value }),
  error: (id, error) => ({ type: 'error', id, error }),
  crash: ({ thread, kind, message, stack = '', deferred = false, exiting = false }) =>
    ({ type: 'crash', thread, kind, message, stack, deferred, exiting }),
  logHost: (entry) => ({ type: 'log-host', entry }),
  output: (stream, text) => ({ type: stream, text }),
  startFailed: (error) => ({ type: 'start-failed', error }),
  threadPort: (channel, port) => ({ type: 'thread-port', channel, port }),
  threadLimit: (live, limit) => ({ type: 'thread-limit', live, limit }),
});

const toThread = Object.freeze({
  port: (port, channel, runtime = null) => ({ cmd: 'wasmpool:port', port, channel, runtime }),
  runtime: (runtime) => ({ cmd: 'wasmpool:runtime', runtime }),
});

module.exports = { LOG_LEVELS, isHostMessage, isThreadMessage, isMainMessage, isThreadCommand, toHost, toMain, toThread };
