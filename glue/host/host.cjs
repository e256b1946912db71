// ThreadPoolHost: the worker thread that owns the pool. This file sets it up; what it
// does once the instance exists is HostRuntime's (host-runtime.cjs).
//
// It instantiates the patched glue with the WebAssembly.Module and the shared memory the
// manager made, which makes this worker Emscripten's main runtime thread; starts the pool
// (initThreadPool) when the module has the wasmpool runtime; hands the instance to a
// HostRuntime, which runs the calls main forwards, one at a time, in arrival order; and
// sends heartbeats. Every pthread of the module (pool threads and threads the module
// creates itself) is a worker nested in this one; the pthread hooks give each its own
// MessagePort to main as it is created, so their logs and crash notices never wait for
// this thread, which is blocked for the whole of every call.
//
// Warm restart (renew): after a crash main may send 'renew' with new channels instead of
// terminating this worker. The host then abandons the dead instance's pool (its threads
// unwind to their event loops) and recycles every worker into a standby. With the wasmpool
// runtime it then keeps its instance and puts the memory back as it was once the instance
// was made (resetInPlace); otherwise it instantiates the glue again with a new memory. Either
// way: a new generation in the same isolates, without a single Node boot
// (docs/ARCHITECTURE.md, "Warm restart").
'use strict';

const { existsSync, readFileSync } = require('node:fs');
const { availableParallelism } = require('node:os');
const { fileURLToPath } = require('node:url');
const workerThreads = require('node:worker_threads');
const { syncBuiltinESMExports } = require('node:module');
const { LOG_LEVELS, isMainMessage, toMain } = require('../shared/protocol.cjs');
const { CallRingServer } = require('../shared/call-ring.cjs');
const { CancelRingReader } = require('../shared/cancel-ring.cjs');
const { HostRuntime, crashReport, errorPayload } = require('./host-runtime.cjs');
const { superviseWorkers } = require('./supervised-worker.cjs');
const { loadGlueFactory } = require('./glue-loader.cjs');
// Helpers shared with the supervised workers' bootstrap (worker-bootstrap.cjs).
const { captureOutput } = require('../shared/output-capture.cjs');
const { classifyFault, isControlFlow } = require('../shared/fault-kind.cjs');
const { CLASSIFY } = require('../shared/global-names.cjs');
const { collectGarbage } = require('../shared/collect-garbage.cjs');

const { parentPort, receiveMessageOnPort, workerData } = workerThreads;

// The start data (begin() below sets these once it has them).
// glueUrl: null for a host of jobs only; patched: whether the glue carries the patch (only
// then does main route execute() calls here, and give it the module and memory).
// workerIsGlue: the patch marker main already read says the glue is its own pthread worker.
// glueForm: how patched glue is loaded (glue-loader.cjs), null for other glue.
// wasmModule: the WebAssembly.Module main compiled (patched glue only).
let glueUrl, patched, wasmUrl, workerIsGlue, glueForm, wasmModule, memoryLimits, threads, threadLimit;
// What one generation has of its own (a renew brings new channels): the call rings, the
// cancel ring, the request port and the output channel; and the shared memory of patched
// glue's instance (null otherwise: other glue makes its own). Main makes the first one, so
// main can read the crash record and progress after a death; a renew keeps it (reset in
// place) or makes a new one here, and 'ready' tells main which.
let memory, cancelRing, callRings, requestPort, outputPort;

const START_TIMEOUT_MS = 10_000;
// How long a recycled worker's thread may take to come back to its event loop (the pool
// threads unwind at once; a thread in user code may not come back at all).
const RECYCLE_TIMEOUT_MS = 200;

function post(message, transferList) {
  parentPort.postMessage(message, transferList);
}

// Output, logs and thread ports go over a channel main made for them: main drains it
// (receiveMessageOnPort) before it settles a call, so what a call printed reaches the log
// sink before the call's result, even one that came back through the call ring.
function postOutput(message, transferList) {
  outputPort.postMessage(message, transferList);
}

// An error nobody caught on this thread, outside any call: a fault in a wasm callback run
// from the event loop, a package's own rejected promise after its job returned. The host
// cannot tell what it left behind, so it ends like a crash (kind 'unknown' when it is not a
// wasm fault); otherwise it would surface as a bare worker 'error' of kind host-exit.
process.on('uncaughtException', (error) => {
  if (isControlFlow(error)) return;
  post(crashReport(error, { exiting: true }));
  process.exit(1);
});

// The pthread hooks of patched glue classify faults with the same function (global-names.cjs).
globalThis[CLASSIFY] = classifyFault;

// The call rings and the cancel ring are read from the start, before main can write them
// (it sends nothing before 'ready'): the host's ends count from what they hold now.
// Requests too large for the ring, and jobs, come on the request port; the ring says when.
let ring, cancels;
function openGeneration() {
  ring = new CallRingServer(callRings);
  cancels = new CancelRingReader(cancelRing);
  requestPort.unref();
}
const nextPortRequest = () => receiveMessageOnPort(requestPort)?.message;

// Runs the calls and jobs once start() made it; null until then. The host listens to main
// from the start, as it always has, though main sends nothing before 'ready' (a host it
// stops while starting is terminated, not told): anything that came early would wait for
// the runtime, in order, and a 'terminate' ends the worker at once.
let runtime = null;
const early = [];
// The instance the runtime serves (abandoned on a renew).
let instance = null;
// What a renew puts back to reset that instance in place (takeResetPoint), or null.
let resetPoint = null;

// The pool threads count themselves in shared memory as they start, and wake whoever waits
// on the count. Ready means all of them run: a call that arrives earlier would find the
// pool short of threads.
async function allThreadsStarted(memory, address) {
  const counter = new Int32Array(memory.buffer, address, 1);
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (let seen = Atomics.load(counter, 0); seen < threads; seen = Atomics.load(counter, 0)) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`only ${seen} of ${threads} pool threads started within ${START_TIMEOUT_MS} ms`);
    const wait = Atomics.waitAsync(counter, 0, seen, left);
    if (wait.async) await wait.value;
  }
}

// What the module prints (Emscripten's print/printErr), patched glue or not: module output.
const moduleOutput = {
  print: (text) => postOutput(toMain.output('stdout', String(text))),
  printErr: (text) => postOutput(toMain.output('stderr', String(text))),
};

// What the pthread hooks of a glue instantiated in this host need from it.
const hooksConfig = {
  get threadLimit() {
    return threadLimit;
  },
  announce: (port, channel) => postOutput(toMain.threadPort(channel, port), [port]),
  onThreadLimit: (live, limit) => {
    // Only a call's error mentions it, and none runs before the runtime exists.
    runtime?.threadLimitHit(live, limit);
    postOutput(toMain.threadLimit(live, limit));
  },
  log: (entry) => postOutput(toMain.logHost(entry)),
};

// Every worker this host creates (supervised-worker.cjs), from begin() on.
let supervised = null;
// Patched glue asks for `threads` workers once its instance exists (__wasmpoolStart). As
// many of them as there are cores besides this thread's are started now, so that their boot
// runs while this thread loads and instantiates the glue; the glue loads its instance into
// them as soon as it exists (prewarm: firstWorkers), and the rest start with the pool's
// threads (startThreads), once the static constructors and embind's registrations have
// run. More than that only slowed this thread's own start, which every first call waits
// for: each Node boot is ~30-50 ms of CPU, and on 2 cores booting both pool workers beside
// the host made a first call ~25 ms later (150 vs 121 ms); the second worker's boot during
// the constructors, ~6 ms later (69.7 vs 63.9 ms, interleaved, medians of 16). A first
// call that uses the pool, served by the first pool thread, came no later either way.
let firstWorkers = 1;

// WASMPOOL_TRACE_START=1: the start's phases on the host's stderr (bench/js/startup-phases.js).
function trace(began, what, detail = '') {
  if (process.env.WASMPOOL_TRACE_START) {
    console.error(`[host] ${what} +${(performance.now() - began).toFixed(1)} ms${detail ? ` (${detail})` : ''}`);
  }
}

async function start(began = performance.now(), early = true) {
  const mark = (what) => trace(began, what);
  mark('host started');
  if (!glueUrl) {
    // A host for jobs only: they bring their own packages.
    serve({ instance: null, memory }, null, 0, began);
    return;
  }
  // The factory: the default export of ES6 glue, or module.exports of CommonJS glue.
  const { factory, loadedAs } = await loadGlueFactory(glueUrl, glueForm);
  trace(began, 'glue imported', loadedAs);
  if (typeof factory !== 'function') {
    throw new Error(`${glueUrl} exports no module factory: build it with -sMODULARIZE=1 (and -sEXPORT_ES6=1 for an ES module)`);
  }
  if (!patched) {
    const instance = await instantiateUnpatched(factory);
    mark('instance ready');
    serve({ instance, memory: exportedMemory(instance) }, null, 0, began);
    return;
  }
  // Glue that is its own pthread worker script (Emscripten 3.1.58+) starts its workers from
  // mainScriptUrlOrBlob when given: the file this host imported, whatever it is called now.
  instance = await factory({
    ...(workerIsGlue ? { mainScriptUrlOrBlob: fileURLToPath(glueUrl) } : {}),
    wasmMemory: memory,
    instantiateWasm(imports, receiveInstance) {
      const wasmInstance = new WebAssembly.Instance(wasmModule, imports);
      receiveInstance(wasmInstance, wasmModule);
      return wasmInstance.exports;
    },
    ...moduleOutput,
    // A renew's workers are booted already (recycled into standbys): all of them load it.
    __wasmpool: { ...hooksConfig, workerIsGlue, prewarm: early ? firstWorkers : threads },
  });
  // Patched glue a job instantiates in this host later (a package's own init()) finds the
  // same channels, limit and log here.
  globalThis.__wasmpoolHostConfig = hooksConfig;
  mark('instance ready');
  // With the wasmpool runtime linked in: the pool, the crash record, the progress counter.
  // Without it, any pthreads module is hosted all the same (crash notices from the hooks,
  // the heartbeat and per-call hang timeouts, logs, restart, idle stop).
  const info = typeof instance.initThreadPool === 'function' ? runtimeInfoOf(instance) : null;
  resetPoint = takeResetPoint(instance, info);
  await startPool(info, began, early);
}

// runtimeInfo() of the wasmpool runtime, read from its JSON text (runtimeInfoJson: the
// object form costs ~6 ms of a start, embind generating JavaScript for its first uses of
// val); a runtime built before that export has only the object.
function runtimeInfoOf(made) {
  return typeof made.runtimeInfoJson === 'function' ? JSON.parse(made.runtimeInfoJson()) : made.runtimeInfo();
}

// The pool's workers (the glue's prewarm, up to `threads`) and its threads.
function startThreads(info) {
  instance.__wasmpoolStart?.(info, threads);
  if (info) instance.initThreadPool(threads);
}

// The instance exists, with no pool thread yet: its pool starts, and on a first start it
// serves at once: it posts 'ready' first and starts the threads while main reads it and
// writes its first calls (a first call 4-7 ms sooner on 2 cores, interleaved, medians of
// 20; the threads' start is ~3 ms of this thread's time: a worker made, the pthreads). A
// call that uses the pool before its threads run waits for them in the
// pool itself (its jobs stay queued until a thread takes them); one that does not is not
// held up by their start (measured: ~50 ms of a cold start, the pool workers loading the
// glue). Main learns when every thread runs ('pool-running'): manager.start() waits for
// that. A renew serves once the threads run, as before: they start within milliseconds in
// kept workers, and a crash while a worker still loads (the one a crash made reload)
// would cost that worker, a Node boot, at the next renew.
async function startPool(info, began, early) {
  // Whether the pool's threads are still starting when the host serves.
  const starting = Boolean(info) && early;
  if (!starting) {
    startThreads(info);
    if (info) {
      await allThreadsStarted(memory, info.startedWorkers);
      trace(began, 'pool threads running');
    }
    supervised.releaseStandbys();
  }
  serve({ instance, memory, exportNames: instance.__wasmProxyExports ?? [] }, info, instance._pthread_self?.() ?? 0,
    began, !starting, starting ? () => startThreads(info) : null);
  if (!starting) return;
  const served = runtime;
  allThreadsStarted(memory, info.startedWorkers).then(() => {
    // Nothing to say for a generation a renew already ended.
    if (runtime !== served) return;
    trace(began, 'pool threads running');
    supervised.releaseStandbys();
    post(toMain.poolRunning());
  }, (error) => {
    if (runtime === served) post(toMain.startFailed(errorPayload(error)));
  });
}

// What a warm restart needs to reset this instance in place, taken once it is made and
// before its pool starts (no pthread runs): a copy of its memory up to the heap's break
// (static data, the constructors' allocations), less the free part of the host thread's
// stack (below its stack pointer, down to the stack's end: with the host on its event
// loop that is all of it, 5 MiB by default), and the glue's own reset point. null without
// the wasmpool runtime (which says where the break is kept) or when the glue cannot reset
// (pthread-hooks.js, __wasmpoolResetPoint).
function takeResetPoint(made, info) {
  if (typeof info?.heapBreak !== 'number' || typeof made.__wasmpoolResetPoint !== 'function') return null;
  const glue = made.__wasmpoolResetPoint();
  if (!glue) return null;
  const heapEnd = new Uint32Array(memory.buffer, info.heapBreak, 1)[0];
  // The stack grows down from its base to stackEnd; its first words (the overflow cookie)
  // are kept with the data below it.
  const freeFrom = glue.stackEnd > 0 && glue.stackEnd + STACK_COOKIE_BYTES < glue.stack ? glue.stackEnd + STACK_COOKIE_BYTES : glue.stack;
  const below = new Uint8Array(memory.buffer, 0, Math.min(freeFrom, heapEnd)).slice();
  const above = new Uint8Array(memory.buffer, glue.stack, Math.max(0, heapEnd - glue.stack)).slice();
  return { glue, info, below, above };
}
const STACK_COOKIE_BYTES = 16;

// Puts the memory back at the reset point, once no thread of the dead generation runs (each
// was recycled or terminated and awaited): the saved bytes, which hold everything the
// allocator and the module's globals know, so what the dead generation allocated above the
// first break is free memory again, as after a free(). It is not cleared: the next
// generation's threads reuse those bytes (their stacks come back at the same addresses),
// and clearing them cost ~1.3 ms per restart for the demo, and the first time committed
// its two 2 MiB thread stacks whole. The free part of the host thread's stack is left as
// it is too. The memory keeps any size it grew to. Then the glue forgets its threads and
// puts its stack pointer back.
function resetInPlace(previous, kept) {
  const bytes = new Uint8Array(memory.buffer);
  const { glue, below, above } = resetPoint;
  bytes.set(below, 0);
  bytes.set(above, glue.stack);
  previous.__wasmpoolReset(glue, kept);
  instance = previous;
}

// The instance is ready: from here on the runtime runs what main sends. Main is told so,
// with the runtime's layout (runtimeInfo(), or null without the wasmpool runtime).
// `beforeServing`: what runs between 'ready' and the first request (a first start's pool
// threads, above), in this same task, so that main reads 'ready' and writes its first calls
// meanwhile: nothing main writes is read before runtime.serve(). If it throws, main gets
// 'start-failed' after 'ready', as when the pool's threads fail to start later on: a fault.
function serve(made, info, hostPthread, began, poolRunning = true, beforeServing = null) {
  instance = made.instance;
  runtime = new HostRuntime({ ...made, post, postAnswer: postOutput, ring, nextPortRequest, cancelRing: cancels });
  for (const message of early.splice(0)) runtime.receive(message);
  post(toMain.ready(info, hostPthread, performance.now() - began, patched ? memory : null, poolRunning));
  beforeServing?.();
  runtime.serve();
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
    ...moduleOutput,
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

// A new generation in this worker (see the header). Main sends 'renew' only to a host of
// patched glue whose instance died of a crash, and sends nothing else until 'ready'.
async function renew(next) {
  const began = performance.now();
  // Everything posted before this on the parent port belongs to the dead generation.
  post(toMain.renewing());
  runtime?.retire();
  runtime = null;
  const previous = instance;
  try {
    // Every pool thread leaves its wait loop and unwinds to its event loop (abandon.hpp).
    previous?.abandonThreadPool?.();
  } catch {
    // A corrupt instance: its threads do not come back, and are terminated below.
  }
  instance = null;
  requestPort.close();
  outputPort.close();
  ({ cancelRing, callRings, requestPort, outputPort } = next);
  openGeneration();
  trace(began, 'renewing');
  // With the wasmpool runtime the instance stays and its memory is reset (resetInPlace):
  // then a worker whose thread did not crash keeps its glue too. Every other one is
  // recycled. Either way each announces its new channel on the new output channel.
  const inPlace = Boolean(previous && resetPoint && previous.__wasmpoolResettable(resetPoint.glue));
  const workers = supervised.workers();
  const outcomes = await Promise.all(workers.map((worker) => supervised.recycle(worker, RECYCLE_TIMEOUT_MS, inPlace)));
  const kept = outcomes.filter((outcome) => outcome === 'kept').length;
  trace(began, 'workers recycled', `${kept} kept, ${outcomes.length - kept} recycled or replaced`);
  const replaced = outcomes.filter((outcome) => outcome === null).length;
  if (replaced > 0) {
    hooksConfig.log({ level: LOG_LEVELS.indexOf('warn'), thread: -1, pthread: 0, time: Date.now(),
      message: `warm restart: ${replaced} of ${outcomes.length} workers of the crashed instance could not be reused (a ` +
        `thread still running the module's code ${RECYCLE_TIMEOUT_MS} ms after the crash, or a worker still loading ` +
        'its module or, when it crashed, running an ES module script); they were terminated and new ones started' });
  }
  if (inPlace) {
    // Nothing of the dead generation runs any more: the same instance, its memory reset.
    resetInPlace(previous, workers.filter((worker, i) => outcomes[i] === 'kept'));
    trace(began, 'memory reset');
    await startPool(resetPoint.info, began, false);
  } else {
    resetPoint = null;
    memory = new WebAssembly.Memory({ ...memoryLimits, shared: true });
    await start(began, false);
  }
  // The dead generation is unreachable (collect-garbage.cjs says why this is needed): its
  // collection is started once the new one serves, and runs between calls. A reset in place
  // leaves less behind than a new instance (the dead generation's channels, call rings and
  // session), but left to V8's own pace that still added ~25 KiB of RSS per crash: 1000 ->
  // 3000 soak cycles took the process from ~120 to ~190 MiB, and ~130 MiB with a collection
  // one reset in 32 (one in four cost ~3.4 ms of the process's CPU per crash, for no less RSS).
  collectGarbage({ left: inPlace ? 'reset-in-place' : 'instance' });
}

// The host's start, once it has its start data.
function begin(startData) {
  ({ glueUrl, patched, wasmUrl, workerIsGlue, glueForm, memoryLimits, threads, threadLimit } = startData);
  wasmModule = startData.module;
  ({ memory, cancelRing, callRings, requestPort, outputPort } = startData);

  // What this thread prints (a package's own print to console, a job's console.log) goes to
  // main's log sink as the module's output, like patched glue's print.
  captureOutput((stream, text) => postOutput(toMain.output(stream, text)));
  openGeneration();

  // Published glue decides whether it is one of its own pthread workers by asking whether it
  // runs on Node's main thread (stockfish: !isMainThread, then it waits for a 'load'
  // message). This host is the main runtime thread of every module it hosts, so code loaded
  // here is told it is on the main thread; the threads it starts see the truth.
  workerThreads.isMainThread = true;
  syncBuiltinESMExports();

  // From here on, every worker created in this host (by our glue, by a package's glue, by a
  // job) is a supervised worker with its own line to main, its last word and its output
  // (supervised-worker.cjs), within the host's thread budget.
  supervised = superviseWorkers({ limit: threadLimit, announce: hooksConfig.announce,
    onLimit: hooksConfig.onThreadLimit });
  firstWorkers = Math.min(threads, Math.max(1, availableParallelism() - 1));
  if (glueUrl && patched) {
    supervised.recyclable = true;
    supervised.standby(firstWorkers);
  }

  // Main's messages go to the runtime (see `runtime` above for those that come before it).
  parentPort.on('message', (message) => {
    if (message?.type === 'renew' && isMainMessage(message)) {
      renew(message).catch((error) => post(toMain.startFailed(errorPayload(error))));
    } else if (message?.type === 'poll' && isMainMessage(message)) runtime?.poll();
    else if (runtime) runtime.receive(message);
    else if (message?.type === 'terminate') process.exit(0); // no instance has a pool to join yet
    else early.push(message);
  });

  // From the start, not from the runtime: main's watchdog counts a starting host as busy,
  // so a long start must beat too.
  const heartbeat = setInterval(() => {
    post(toMain.heartbeat());
    runtime?.poll(); // a request whose wake-up was lost (host-runtime.cjs)
  }, startData.heartbeatIntervalMs);
  heartbeat.unref();

  start().catch((error) => {
    post(toMain.startFailed(errorPayload(error)));
  });
}

// A host started before main had its module (a manager's first start: main/host-preboot.js)
// boots while main reads and compiles it, then gets its start data as its first message.
// Until then main sends nothing else, and stopping it terminates it.
if (workerData?.early) {
  const take = (message) => {
    if (message?.type !== 'start' || !isMainMessage(message)) return;
    parentPort.off('message', take);
    begin(message.data);
  };
  parentPort.on('message', take);
} else {
  begin(workerData);
}
