// ThreadPoolHost: the worker thread that owns the pool.
//
// It instantiates the patched glue with the WebAssembly.Module and the shared memory the
// manager made, which makes this worker Emscripten's main runtime thread; starts the pool
// (initThreadPool); runs the calls main forwards, one at a time, in arrival order; and
// sends heartbeats. Pool threads are Emscripten pthreads nested in this worker; each got
// its own MessagePort to main through the pthread hooks, so their logs and crash notices
// never wait for this thread, which is blocked for the whole of every parallel call.
import { parentPort, workerData } from 'node:worker_threads';

const { glueUrl, module, memory, threads, channels, heartbeatIntervalMs, failFast, cancelRing } = workerData;

// Names that must never be dispatched even if a module happened to list them.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype', 'then']);

const START_TIMEOUT_MS = 10_000;

let instance = null;
let exportNames = new Set();

function post(message) {
  parentPort.postMessage(message);
}

function errorPayload(error) {
  if (error && typeof error === 'object') {
    return {
      name: String(error.name ?? 'Error'),
      message: String(error.message ?? error),
      code: error.code,
      stack: typeof error.stack === 'string' ? error.stack : undefined,
    };
  }
  return { name: 'Error', message: String(error) };
}

// A thrown number is a C++ exception escaping the export (Emscripten's JS-based
// exceptions throw the exception object's address). The runtime can read its what().
function describeCppException(pointer) {
  try {
    if (typeof instance.wasmpoolDescribeException === 'function') {
      const text = instance.wasmpoolDescribeException(pointer);
      const split = text.indexOf('\n');
      if (split > 0) return { name: text.slice(0, split), message: text.slice(split + 1) };
      return { name: 'C++ exception', message: text };
    }
  } catch {
    // fall through to the generic description
  }
  return { name: 'C++ exception', message: `uncaught C++ exception at 0x${pointer.toString(16)}` };
}

function isFatal(error) {
  // A trap or abort on this thread leaves the instance in an unknown state (held locks,
  // a half-unwound stack): treat it as a crash of the host. Everything else an export
  // throws (C++ exceptions, embind's argument checks) leaves the instance usable.
  return error instanceof WebAssembly.RuntimeError ||
    (error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message));
}

// The same classification as glue/pthread-hooks.js, which cannot share code with this
// file: it is pasted into the generated glue.
function classifyFatal(error) {
  const text = String(error?.message ?? error);
  if (/Stack overflow|Maximum call stack/i.test(text)) return 'stack-overflow';
  if (/out of bounds/i.test(text)) return 'oob';
  if (/OOM|Cannot enlarge memory|out of memory/i.test(text)) return 'out-of-memory';
  if (/Aborted\(/.test(text)) return 'abort';
  return 'trap';
}

// Typed arrays that view the wasm memory would be shared, not copied, by postMessage:
// main would see the host's heap change (or be freed) under it. Copy them out.
function detachFromHeap(value) {
  if (ArrayBuffer.isView(value) && value.buffer === memory.buffer) return value.slice();
  return value;
}

// Calls main abandoned (their execute() timed out or was aborted) while they waited here:
// main writes their ids into a ring in shared memory, read before each call.
const cancelled = new Set();
let cancelsSeen = 0;

function wasCancelled(id) {
  const written = Atomics.load(cancelRing, 0);
  if (written - cancelsSeen > cancelRing.length - 1) cancelsSeen = written - (cancelRing.length - 1);
  for (; cancelsSeen < written; cancelsSeen++) {
    cancelled.add(Atomics.load(cancelRing, 1 + (cancelsSeen % (cancelRing.length - 1))));
  }
  return cancelled.delete(id);
}

function runCall({ id, name, args }) {
  if (wasCancelled(id)) return; // nobody waits for it any more
  if (typeof name !== 'string' || FORBIDDEN.has(name) || !exportNames.has(name) ||
      typeof instance[name] !== 'function') {
    post({ type: 'error', id, error: { name: 'TypeError', code: 'ERR_WASM_UNKNOWN_EXPORT',
      message: `${JSON.stringify(name)} is not an export of this module` } });
    return;
  }
  let value;
  try {
    value = instance[name](...args);
  } catch (error) {
    if (error === 'unwind') {
      // Emscripten's crash flag: a pool thread died while this thread waited for it, and
      // the wait was interrupted. The thread's own notice (port) and the crash record
      // carry the details; tell main to expect them. The instance is no longer usable.
      post({ type: 'crash', thread: -1, kind: 'unknown', deferred: true,
        message: `a pool thread died while the host waited in ${name}()`, stack: '' });
      instance = null;
      // Heartbeat-only detection (a benchmark baseline) models a host that stays stuck.
      if (!failFast) clearInterval(heartbeat);
      return;
    }
    if (typeof error === 'number') {
      post({ type: 'error', id, error: { ...describeCppException(error), code: 'ERR_WASM_CPP_EXCEPTION' } });
      return;
    }
    if (isFatal(error)) {
      post({ type: 'crash', thread: -1, kind: classifyFatal(error), message: String(error.message ?? error),
        stack: String(error.stack ?? '') });
      // Nothing more runs here: main terminates this worker.
      instance = null;
      return;
    }
    post({ type: 'error', id, error: errorPayload(error) });
    return;
  }
  try {
    post({ type: 'result', id, value: detachFromHeap(value) });
  } catch (error) {
    post({ type: 'error', id, error: { name: 'DataCloneError', code: 'ERR_WASM_RESULT_NOT_CLONEABLE',
      message: `the result of ${name}() cannot be sent back to the main thread: ${error.message}` } });
  }
}

// Emscripten finishes creating a pthread on this thread's event loop, so the host must
// not block in a call before every pool thread runs (the prewarmed workers make this
// quick). The pool threads count themselves in shared memory as they start.
async function allThreadsStarted(address) {
  const counter = new Int32Array(memory.buffer, address, 1);
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (Atomics.load(counter, 0) < threads) {
    if (performance.now() > deadline) {
      throw new Error(`only ${Atomics.load(counter, 0)} of ${threads} pool threads started within ${START_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function start() {
  const began = performance.now();
  const mark = (what) => process.env.WASMPOOL_TRACE_START && console.error(`[host] ${what} +${(performance.now() - began).toFixed(1)} ms`);
  mark('host started');
  const factory = (await import(glueUrl)).default;
  mark('glue imported');
  if (typeof factory !== 'function') {
    throw new Error(`${glueUrl} has no default export: build it with -sMODULARIZE=1 -sEXPORT_ES6=1`);
  }
  instance = await factory({
    wasmMemory: memory,
    pthreadPoolSize: threads,
    instantiateWasm(imports, receiveInstance) {
      const wasmInstance = new WebAssembly.Instance(module, imports);
      receiveInstance(wasmInstance, module);
      return wasmInstance.exports;
    },
    print: (text) => post({ type: 'stdout', text }),
    printErr: (text) => post({ type: 'stderr', text }),
    __wasmpool: {
      channels,
      log: (entry) => post({ type: 'log-host', entry }),
    },
  });
  if (typeof instance.initThreadPool !== 'function') {
    throw new Error('the module does not export initThreadPool: link it with add_wasm_threadpool_module()');
  }
  mark('instance ready');
  instance.initThreadPool(threads);
  exportNames = new Set(instance.__wasmProxyExports ?? []);
  const runtime = instance.runtimeInfo();
  await allThreadsStarted(runtime.startedWorkers);
  mark('pool threads running');
  post({ type: 'ready', runtime, startMs: performance.now() - began });
}

parentPort.on('message', (message) => {
  switch (message.type) {
    case 'call':
      if (instance) runCall(message);
      break;
    case 'terminate':
      try {
        instance?.exitThreadPool();
      } finally {
        process.exit(0);
      }
      break;
    default:
      break;
  }
});

const heartbeat = setInterval(() => post({ type: 'heartbeat' }), heartbeatIntervalMs);
heartbeat.unref();

start().catch((error) => {
  post({ type: 'start-failed', error: errorPayload(error) });
});
