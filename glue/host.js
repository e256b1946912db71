// ThreadPoolHost: the worker thread that owns the pool.
//
// It instantiates the patched glue with the WebAssembly.Module and the shared memory the
// manager made, which makes this worker Emscripten's main runtime thread; starts the pool
// (initThreadPool) when the module has the wasmpool runtime; runs the calls main forwards,
// one at a time, in arrival order; and sends heartbeats. Every pthread of the module (pool
// threads and threads the module creates itself) is a worker nested in this one; the
// pthread hooks give each its own MessagePort to main as it is created, so their logs and
// crash notices never wait for this thread, which is blocked for the whole of every call.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import workerThreads, { parentPort, workerData } from 'node:worker_threads';
import { syncBuiltinESMExports } from 'node:module';
import { readPatchMarker } from '../patch/marker.js';
import { isMainMessage, toMain } from './protocol.js';
import { CallSlotServer } from './call-slot.js';
import { CancelRingReader } from './cancel-ring.js';
import { superviseWorkers } from './supervised-worker.js';
import { captureOutput } from './output-capture.js';
import { classifyFault, describeFault, isControlFlow, isFault } from './fault-kind.js';
import { CLASSIFY } from './global-names.js';

// glueUrl: null for a host of jobs only; patched: whether the glue carries the patch (only
// then does main route execute() calls here, and give it the module and memory).
const { glueUrl, patched, wasmUrl, module, threads, threadLimit, heartbeatIntervalMs, cancelRing, callSlot, outputPort } =
  workerData;
// The shared memory of the instance: made by main for patched glue (so main can read the
// crash record and progress after a death), by the glue itself otherwise.
let memory = workerData.memory;

// Names that must never be dispatched even if a module happened to list them.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype', 'then']);

const START_TIMEOUT_MS = 10_000;

let instance = null;
// False once a fault on this thread (or a thread's death seen while waiting) made the host
// unusable: main terminates it; nothing more runs here meanwhile.
let usable = true;
let exportNames = new Set();

function post(message, transferList) {
  parentPort.postMessage(message, transferList);
}

// Output, logs and thread ports go over a channel main made for them: main drains it
// (receiveMessageOnPort) before it settles a call, so what a call printed reaches the log
// sink before the call's result, even one that came back through the call slot.
function postOutput(message, transferList) {
  outputPort.postMessage(message, transferList);
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
    if (typeof instance?.wasmpoolDescribeException === 'function') {
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

// A fault of this thread (fault-kind.js) ends the host: the instance may be corrupt.
function postCrash(error) {
  const kind = classifyFault(error);
  post(toMain.crash({ thread: -1, kind: kind === 'unknown' && isFault(error) ? 'trap' : kind,
    message: describeFault(error), stack: String(error?.stack ?? '') }));
}

// An error nobody caught on this thread, outside any call: a fault in a wasm callback run
// from the event loop, a package's own rejected promise after its job returned. The host
// cannot tell what it left behind, so it ends like a crash (kind 'unknown' when it is not a
// wasm fault); otherwise it would surface as a bare worker 'error' of kind host-exit.
process.on('uncaughtException', (error) => {
  if (isControlFlow(error)) return;
  postCrash(error);
  process.exit(1);
});

// The pthread hooks of patched glue classify faults with the same function (global-names.js).
globalThis[CLASSIFY] = classifyFault;

// What this thread prints (a package's own print to console, a job's console.log) goes to
// main's log sink as the module's output, like patched glue's print.
captureOutput((stream, text) => postOutput(toMain.output(stream, text)));

// pthread_create refused past the limit during the call being run: the call's error says
// why and what to change.
let threadLimitHit = null;

function withThreadLimit(error) {
  if (!threadLimitHit) return error;
  const { live, limit } = threadLimitHit;
  return {
    ...error,
    code: 'ERR_WASM_THREAD_LIMIT',
    message: `${error.message} (the host refused to start a thread: ${live} threads were alive and the ` +
      `limit is ${limit}, the pool's threads plus options.maxExtraThreads; raise maxExtraThreads)`,
  };
}

// Typed arrays that view the wasm memory would be shared, not copied, by postMessage:
// main would see the host's heap change (or be freed) under it. Copy them out.
function detachFromHeap(value) {
  if (memory && ArrayBuffer.isView(value) && value.buffer === memory.buffer) return value.slice();
  return value;
}

// Calls main abandoned (their execute() timed out or was aborted) while they waited here:
// main writes their ids into a ring in shared memory (cancel-ring.js), read before each call.
const cancels = new CancelRingReader(cancelRing);
const wasCancelled = (id) => cancels.wasCancelled(id);

function runCall({ id, name, args }) {
  if (wasCancelled(id)) return; // nobody waits for it any more
  threadLimitHit = null;
  if (typeof name !== 'string' || FORBIDDEN.has(name) || !exportNames.has(name) ||
      typeof instance?.[name] !== 'function') {
    postError(id, { name: 'TypeError', code: 'ERR_WASM_UNKNOWN_EXPORT',
      message: `${JSON.stringify(name)} is not an export of this module` });
    return;
  }
  let value;
  try {
    value = instance[name](...args);
  } catch (error) {
    reportThrown(id, `${name}()`, error);
    return;
  }
  postResult(id, `${name}()`, value);
}

// An in-host job (manager.run()): a JS module whose default export runs here, next to the
// instance, so it can call exports synchronously, keep pointers and use embind classes.
// Only its input and its result cross. Jobs run one at a time like calls, including
// across the job's own awaits (see `serially` below).
async function runJob({ id, url, input }) {
  if (wasCancelled(id)) return;
  threadLimitHit = null;
  let value;
  try {
    const job = await loadJob(url);
    value = await job(input, { module: instance, memory });
  } catch (error) {
    reportThrown(id, `the job ${url}`, error);
    return;
  }
  postResult(id, `the job ${url}`, value);
}

const jobs = new Map();
async function loadJob(url) {
  let job = jobs.get(url);
  if (!job) {
    const loaded = await import(url);
    job = loaded.default;
    if (typeof job !== 'function') {
      throw Object.assign(new TypeError(`${url} has no default export function (input, { module, memory }) => result`),
        { code: 'ERR_WASM_JOB_NOT_A_FUNCTION' });
    }
    jobs.set(url, job);
  }
  return job;
}

// What an export or a job threw: a C++ exception or a JS error rejects that call only; a
// fault of this thread, or a thread's death seen while waiting, ends the host.
function reportThrown(id, what, error) {
  if (error === 'unwind') {
    // Emscripten's crash flag: a pool thread died while this thread waited for it, and
    // the wait was interrupted. The thread's own notice (port) and the crash record carry
    // the details; tell main to expect them. The instance is no longer usable.
    post(toMain.crash({ thread: null, kind: 'unknown', deferred: true,
      message: `a thread died while the host waited in ${what}` }));
    usable = false;
    return;
  }
  if (typeof error === 'number') {
    postError(id, withThreadLimit({ ...describeCppException(error), code: 'ERR_WASM_CPP_EXCEPTION' }));
    return;
  }
  if (isFault(error)) {
    postCrash(error);
    // Nothing more runs here: main terminates this worker.
    usable = false;
    return;
  }
  postError(id, withThreadLimit(errorPayload(error)));
}

// Errors always go by message; a call that came through the slot is told so there.
function postError(id, error) {
  post(toMain.error(id, error));
  if (slotCalls.delete(id)) slot.answeredByMessage(id);
}

function postResult(id, what, value) {
  const detached = detachFromHeap(value);
  const viaSlot = slotCalls.delete(id);
  if (viaSlot && slot.answer(id, detached)) return;
  try {
    post(toMain.result(id, detached));
  } catch (error) {
    post(toMain.error(id, { name: 'DataCloneError', code: 'ERR_WASM_RESULT_NOT_CLONEABLE',
      message: `the result of ${what} cannot be sent back to the main thread: ${error.message}` }));
  }
  if (viaSlot) slot.answeredByMessage(id);
}

// The pool threads count themselves in shared memory as they start. Ready means all of
// them run: a call that arrives earlier would find the pool short of threads.
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

// What the pthread hooks of a glue instantiated in this host need from it.
const hooksConfig = {
  threadLimit,
  announce: (port, channel) => postOutput(toMain.threadPort(channel, port), [port]),
  onThreadLimit: (live, limit) => {
    threadLimitHit = { live, limit };
    postOutput(toMain.threadLimit(live, limit));
  },
  log: (entry) => postOutput(toMain.logHost(entry)),
};

// Published glue decides whether it is one of its own pthread workers by asking whether it
// runs on Node's main thread (stockfish: !isMainThread, then it waits for a 'load'
// message). This host is the main runtime thread of every module it hosts, so code loaded
// here is told it is on the main thread; the threads it starts see the truth.
workerThreads.isMainThread = true;
syncBuiltinESMExports();

// From here on, every worker created in this host (by our glue, by a package's glue, by a
// job) is a supervised worker with its own line to main, its last word and its output
// (supervised-worker.js), within the host's thread budget.
superviseWorkers({ limit: threadLimit, announce: hooksConfig.announce, onLimit: hooksConfig.onThreadLimit });

async function start() {
  const began = performance.now();
  const mark = (what) => process.env.WASMPOOL_TRACE_START && console.error(`[host] ${what} +${(performance.now() - began).toFixed(1)} ms`);
  mark('host started');
  if (!glueUrl) {
    // A host for jobs only: they bring their own packages.
    post(toMain.ready(null, 0, performance.now() - began));
    idle();
    return;
  }
  // The factory: the default export of ES6 glue, or module.exports of CommonJS glue.
  const factory = (await import(glueUrl)).default;
  mark('glue imported');
  if (typeof factory !== 'function') {
    throw new Error(`${glueUrl} exports no module factory: build it with -sMODULARIZE=1 (and -sEXPORT_ES6=1 for an ES module)`);
  }
  if (!patched) {
    instance = await instantiateUnpatched(factory);
    memory = exportedMemory(instance);
    mark('instance ready');
    post(toMain.ready(null, 0, performance.now() - began));
    idle();
    return;
  }
  // Glue that is its own pthread worker script (Emscripten 3.1.58+) starts its workers from
  // mainScriptUrlOrBlob when given: the file this host imported, whatever it is called now.
  const { workerIsGlue = false } = readPatchMarker(readFileSync(fileURLToPath(glueUrl), 'utf8')) ?? {};
  instance = await factory({
    ...(workerIsGlue ? { mainScriptUrlOrBlob: fileURLToPath(glueUrl) } : {}),
    wasmMemory: memory,
    instantiateWasm(imports, receiveInstance) {
      const wasmInstance = new WebAssembly.Instance(module, imports);
      receiveInstance(wasmInstance, module);
      return wasmInstance.exports;
    },
    print: (text) => postOutput(toMain.output('stdout', text)),
    printErr: (text) => postOutput(toMain.output('stderr', text)),
    __wasmpool: { ...hooksConfig, workerIsGlue },
  });
  // Patched glue a job instantiates in this host later (a package's own init()) finds the
  // same channels, limit and log here.
  globalThis.__wasmpoolHostConfig = hooksConfig;
  mark('instance ready');
  exportNames = new Set(instance.__wasmProxyExports ?? []);
  // With the wasmpool runtime linked in: the pool, the crash record, the progress counter.
  // Without it, any pthreads module is hosted all the same (crash notices from the hooks,
  // the heartbeat and per-call hang timeouts, logs, restart, idle stop).
  const runtime = typeof instance.initThreadPool === 'function' ? instance.runtimeInfo() : null;
  instance.__wasmpoolStart?.(runtime, threads);
  if (runtime) {
    instance.initThreadPool(threads);
    await allThreadsStarted(runtime.startedWorkers);
    mark('pool threads running');
  }
  post(toMain.ready(runtime, instance._pthread_self?.() ?? 0, performance.now() - began));
  idle();
}

// Where unpatched glue finds its files: next to it, as Emscripten's default does; the
// .wasm it was given; and a worker file that is not there is the glue itself (glue that is
// its own pthread worker asks for <name>.worker.js, which its package's loader answers
// with the glue's own path, as stockfish's does).
function locateBesideGlue(file) {
  if (wasmUrl && file.endsWith('.wasm')) return fileURLToPath(wasmUrl);
  const beside = fileURLToPath(new URL(file, glueUrl));
  if (/\.worker\.m?js$/.test(file) && !existsSync(beside)) return fileURLToPath(glueUrl);
  return beside;
}

// The instance's memory when the glue exports it as a plain value (Module.wasmMemory); a
// build with ASSERTIONS guards unexported names with getters that abort, so none is called.
function exportedMemory(module) {
  const { value } = Object.getOwnPropertyDescriptor(module, 'wasmMemory') ?? {};
  return value instanceof WebAssembly.Memory ? value : null;
}

// Glue without the patch (a package's own, Closure-compiled or not): instantiated the way
// its users do, with its output sent to main. Only run() jobs use it (ctx.module); its
// threads are supervised like every other worker here.
async function instantiateUnpatched(factory) {
  const config = {
    print: (text) => postOutput(toMain.output('stdout', String(text))),
    printErr: (text) => postOutput(toMain.output('stderr', String(text))),
    // Given (options.wasm) or found next to the glue: 3.1.x glue would otherwise fetch()
    // it, which fails on Node 18+.
    ...(wasmUrl ? { wasmBinary: readFileSync(fileURLToPath(wasmUrl)) } : {}),
    locateFile: locateBesideGlue,
  };
  let made = factory(config);
  // Some packages export a function that returns the factory (stockfish's shape).
  if (typeof made === 'function') made = made(config);
  const result = await made;
  if (!result || typeof result !== 'object') {
    throw new Error(`${glueUrl}: calling its export did not give an Emscripten module (got ${typeof result})`);
  }
  return result;
}

// Calls and jobs run one at a time, in arrival order; a job's awaits do not let the next
// one start (main relies on "the oldest unanswered is the one running").
let serially = Promise.resolve();
let queued = 0;

function enqueue(id, run) {
  queued++;
  serially = serially.then(() => {
    if (!usable) return undefined;
    slot.markRunning(id);
    return run();
  }).finally(() => {
    // A call that killed the instance stays marked: main fails it, and only it.
    if (usable) slot.markRunning(0);
    if (--queued === 0) idle();
  });
}

// The call slot (call-slot.js): calls main sent while nothing was in flight. The slot is
// read before any message is queued, so a call written there before a later message runs
// first, whichever wake-up arrives first.
const slot = new CallSlotServer(callSlot);
const slotCalls = new Set(); // ids of calls taken from the slot and not yet answered
let slotWatched = false;

let lastFromSlot = false; // main is calling one at a time: the next call will come through the slot

function takeFromSlot(call) {
  if (!call) return false;
  slotCalls.add(call.id);
  lastFromSlot = true;
  enqueue(call.id, () => runCall({ type: 'call', ...call }));
  return true;
}

// Nothing queued. After a call that came through the slot, look for the next one for a
// bounded moment (it usually follows within microseconds); then go back to the event loop
// with a wake-up armed on the slot. Calls that come by message (several in flight) need no
// spin: their messages are already queued.
function idle() {
  if (!usable) return;
  const spin = lastFromSlot;
  lastFromSlot = false;
  if (spin && takeFromSlot(slot.spinForCall())) return;
  if (slotWatched) return;
  slotWatched = true;
  slot.changed().then(() => {
    slotWatched = false;
    if (!takeFromSlot(slot.take()) && queued === 0) idle();
  });
}

parentPort.on('message', (message) => {
  if (!isMainMessage(message)) {
    post(toMain.logHost({ level: 3, thread: -1, pthread: 0, time: Date.now(),
      message: `wasm-threadpool host: ignored a malformed message from main: ${JSON.stringify(message)?.slice(0, 200)}` }));
    return;
  }
  switch (message.type) {
    case 'call':
    case 'job':
      takeFromSlot(slot.take());
      enqueue(message.id, () => (message.type === 'call' ? runCall(message) : runJob(message)));
      break;
    case 'terminate':
      try {
        instance?.exitThreadPool?.(); // only modules with the wasmpool runtime have a pool to join
      } finally {
        process.exit(0);
      }
      break;
    default:
      break;
  }
});

const heartbeat = setInterval(() => post(toMain.heartbeat()), heartbeatIntervalMs);
heartbeat.unref();

start().catch((error) => {
  post(toMain.startFailed(errorPayload(error)));
});
