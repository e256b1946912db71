// wasm-threadpool pthread hooks: a --pre-js, so it runs inside the Emscripten module
// factory in every context the glue is loaded in. It is inert unless a ThreadPoolHost
// configured it (Module.__wasmpool) or the code runs in one of that host's pthread workers,
// with one exception, on the user's side below.
//
// User side (an ordinary instance, e.g. on Node's main thread): the instance's pthread
// workers (prewarmed ones, and those of threads its static initialisers start) are listed
// per module in a process-wide registry. Once a ThreadPoolManager routes that module
// (glue/main/instance-workers.js), its calls go to the host, and these workers are unref'd: a
// thread that never ends no longer keeps the process alive after shutdown(). Until then,
// and for modules no manager routes, the workers behave as stock glue's.
//
// Host side (Emscripten's main runtime thread, i.e. the ThreadPoolHost worker):
//   - gives every pthread worker, as it is created, its own MessageChannel: one end goes to
//     the worker, the other to Node's main thread (config.announce). Every thread, pool
//     thread or a std::thread the module made, has a direct line to main;
//   - prewarms as many workers as the pool has threads (whatever -sPTHREAD_POOL_SIZE the
//     glue was built with): config.prewarm of them as soon as the instance exists, the
//     rest when the host starts the pool (__wasmpoolStart);
//   - lets a thread start while the host is blocked: stock glue posts a new thread's 'run'
//     only after its worker answered 'loaded', on the host's event loop, which a host
//     blocked in a call (joining the std::thread it just made) never reaches. The patched
//     worker queues messages that arrive while it loads, so 'run' is posted at once;
//   - refuses a thread past `config.threadLimit` live pthreads (pthread_create returns
//     EAGAIN at once; config.onThreadLimit tells main), instead of growing without bound.
// Pthread side (every Emscripten pthread worker):
//   receives that port, and wraps the worker's message handler so that a fatal error of
//   the thread (trap, abort, out-of-bounds, stack overflow, terminate, uncaught C++
//   exception) is reported to main over the port and written to the crash record in
//   shared memory *before* the worker dies. Logs from C++ (wasmpool::log) and the text
//   the thread prints go over the same port, so they reach main even while the host
//   thread is blocked.
//
// The crash record's layout and kind names come from C++ (runtimeInfo(), passed along
// by the host): nothing about it is repeated here. Faults are classified by
// glue/shared/fault-kind.cjs, which the host and each supervised worker publish for these hooks.
//
// Glue generations (docs/PATCH.md): Emscripten 3.1.x with a separate worker file (the
// worker sets Module.ENVIRONMENT_IS_PTHREAD and its handler before it imports the glue),
// and the moduleArg glue of later releases, where loadWasmModuleToWorker returns a promise,
// the 'run' message names the thread pthread_ptr and, from 3.1.58, the glue is its own
// worker script (a local ENVIRONMENT_IS_PTHREAD, and a handler assigned after this code).
// What a generation does not allow is said where it applies, never silently skipped.
//
// Written in ES5-compatible style with no top-level declarations other than one
// namespaced object, because it is pasted into generated glue of any shape.
var __wasmpoolHooks = (function () {
  'use strict';
  var PORT_COMMAND = 'wasmpool:port';
  var RUNTIME_COMMAND = 'wasmpool:runtime';

  var state = {
    port: null,
    channel: -1,
    thread: -1, // pool worker index, -1 when this worker runs another pthread
    pthread: 0, // pthread_self() of the thread this worker runs
    runtime: null, // runtimeInfo() of a module with the wasmpool runtime, else null
    reported: false,
  };

  // The glue's local wasmMemory is in scope here in every generation (recent glue sets
  // Module.wasmMemory only when it is exported).
  function memoryBuffer() {
    var memory = (typeof wasmMemory != 'undefined' && wasmMemory) || Module['wasmMemory'] || null;
    return memory ? memory.buffer : null;
  }

  // What kind of fault a JS-visible error is: glue/shared/fault-kind.cjs's classifier, which the
  // host and every supervised worker's bootstrap publish (global-names.cjs: CLASSIFY), so it
  // is written once. The C++ side may already have written a more precise kind into the
  // crash record (std::terminate, failed allocation); that one wins.
  function classify(ex) {
    var classifier = typeof globalThis == 'object' && globalThis['__wasmpoolClassify'];
    return typeof classifier == 'function' ? classifier(ex) : 'unknown';
  }

  function describe(ex) {
    if (typeof ex === 'number') return 'uncaught C++ exception (thrown object at 0x' + ex.toString(16) + ')';
    if (ex && ex.message) return String(ex.message);
    return String(ex);
  }

  function recordWords(buffer, layout) {
    return new Int32Array(buffer, layout.address, layout.message >> 2);
  }

  function readRecordKind() {
    var layout = state.runtime && state.runtime.crashRecord;
    var buffer = memoryBuffer();
    if (!layout || !buffer) return null;
    var words = recordWords(buffer, layout);
    if (Atomics.load(words, layout.state >> 2) !== layout.states.complete) return null;
    return layout.kinds[Atomics.load(words, layout.kind >> 2)] || null;
  }

  function writeRecord(kind, message) {
    var layout = state.runtime && state.runtime.crashRecord;
    var buffer = memoryBuffer();
    if (!layout || !buffer) return;
    var words = recordWords(buffer, layout);
    // First crash wins: another thread (or C++'s terminate handler) may own the record.
    var states = layout.states;
    if (Atomics.compareExchange(words, layout.state >> 2, states.empty, states.writing) !== states.empty) return;
    var bytes = new TextEncoder().encode(message).subarray(0, layout.capacity - 1);
    new Uint8Array(buffer, layout.address + layout.message, layout.capacity).set(bytes);
    Atomics.store(words, layout.thread >> 2, state.thread);
    Atomics.store(words, layout.kind >> 2, Math.max(0, layout.kinds.indexOf(kind)));
    Atomics.store(words, layout.length >> 2, bytes.length);
    Atomics.store(words, layout.pthread >> 2, state.pthread);
    Atomics.store(words, layout.state >> 2, states.complete);
  }

  function post(message) {
    if (!state.port) return false;
    try {
      state.port.postMessage(message);
      return true;
    } catch (e) {
      return false;
    }
  }

  function reportCrash(ex) {
    if (state.reported) return;
    state.reported = true;
    // The worker's bootstrap (worker-bootstrap.cjs) sends a backstop notice for any thread
    // that dies; this one is more precise (pool thread index, crash record), so it tells the
    // bootstrap to stay silent (global-names.cjs: CRASH_REPORTED).
    // A trap of the wasm code (unreachable, an out-of-bounds access, a bad indirect call)
    // changes nothing in the glue's JavaScript, and abort() (std::abort, a failed assert,
    // std::terminate) only what forgetCrashState() puts back when the worker's next thread
    // starts (below, on 'run'); both throw a
    // WebAssembly.RuntimeError. A C++ exception escaping the thread or a JS error went
    // through glue code that may keep other state. Only after a RuntimeError may a warm
    // restart in place keep this worker's glue (worker-bootstrap.cjs, recycleWorker).
    var keepsGlue = ex instanceof WebAssembly.RuntimeError;
    if (typeof globalThis == 'object') {
      globalThis['__wasmpoolCrashKeepsGlue'] = keepsGlue;
      globalThis['__wasmpoolCrashReported'] = true;
    }
    var kind = readRecordKind() || classify(ex);
    var message = describe(ex);
    try {
      writeRecord(kind, message);
    } catch (e) {
      // The record is a backstop; the port message below is the fast path.
    }
    // If this fails there is nothing left to try: main still sees the host fail or the
    // watchdog fire.
    post({
      type: 'crash',
      channel: state.channel,
      thread: state.thread,
      pthread: state.pthread,
      kind: kind,
      message: message,
      stack: ex && ex.stack ? String(ex.stack) : '',
      time: Date.now(),
    });
    abandonPool();
    wakeRuntimeThread();
  }

  // What a fault may leave in this glue's JavaScript besides the memory (which a reset in
  // place puts back): abort() sets ABORT and EXITSTATUS (3.1.x to 4.x), and with JS-based
  // C++ exceptions a fault inside a catch block, or an exception that ended in
  // std::terminate, leaves the exception bookkeeping (a count, a stack, the last one). All
  // go back to what the glue set when it loaded, so that a kept worker, or the host's kept
  // instance, runs its next thread or call as after a fresh load. Names this glue does not
  // have are skipped (wasm exceptions keep no such state in JavaScript).
  function forgetCrashState() {
    if (typeof ABORT != 'undefined') ABORT = false;
    if (typeof EXITSTATUS != 'undefined') EXITSTATUS = undefined;
    if (typeof uncaughtExceptionCount != 'undefined') uncaughtExceptionCount = 0;
    if (typeof exceptionCaught != 'undefined' && Array.isArray(exceptionCaught)) exceptionCaught.length = 0;
    if (typeof exceptionLast != 'undefined') exceptionLast = 0;
  }

  // The instance is dead from here on (every crash ends it: main renews or replaces the
  // host). The other pool threads stop taking its jobs now: each leaves at its next job
  // or wait, back to its event loop (C++'s abandon.hpp), instead of working through the
  // rest of a doomed call until the host's renew abandons the pool. Their sleepers are
  // woken by that renew; asleep, they cost nothing meanwhile.
  function abandonPool() {
    var address = state.runtime && state.runtime.abandoned;
    var buffer = memoryBuffer();
    if (!address || !buffer) return;
    try {
      Atomics.store(new Uint8Array(buffer), address, 1);
    } catch (e) {
      // The renew abandons the pool all the same.
    }
  }

  // The host thread may be blocked waiting for the pool's work, in futex slices (C++'s
  // Latch::wait_outside), and Emscripten lets it leave only at a slice's start, once its
  // "a thread crashed" flag is set; the glue's handler sets the flag only after printing
  // its report. So the flag is set here, then the host is woken at the word it says it
  // waits on (runtimeInfo().runtimeThreadWait; latch.hpp, runtime_thread_wait_word, says
  // why nothing is missed): it is back on its event loop, ready to be renewed, at once
  // instead of up to a slice (2 ms) later. Without the wasmpool runtime nothing is done.
  function wakeRuntimeThread() {
    var address = state.runtime && state.runtime.runtimeThreadWait;
    var buffer = memoryBuffer();
    var crashed = typeof __emscripten_thread_crashed == 'function' ? __emscripten_thread_crashed
      : Module['__emscripten_thread_crashed'];
    if (!address || !buffer || typeof crashed != 'function') return;
    try {
      crashed();
      var words = new Int32Array(buffer);
      var word = Atomics.load(words, address >>> 2) >>> 0;
      if (word) Atomics.notify(words, word >>> 2);
    } catch (e) {
      // The slice's end still comes.
    }
  }

  // Text the pthread prints from JS (abort's "Aborted(...)", worker.js's own report of the
  // fault) goes to main's log sink with the thread's identity, not straight to fd 2.
  function forwardOutput(stream) {
    return function (text) {
      var sent = post({ type: 'output', channel: state.channel, thread: state.thread, pthread: state.pthread,
        stream: stream, text: String(text), time: Date.now() });
      if (!sent) (stream === 'stdout' ? console.log : console.error)(String(text));
    };
  }

  // Calls fn; a fatal error of this thread is reported before it propagates ('unwind' and
  // exit() are Emscripten's control flow, not faults).
  function reportingCrash(fn, self, args) {
    try {
      return fn.apply(self, args);
    } catch (ex) {
      if (ex !== 'unwind' && !(ex && ex.name === 'ExitStatus')) reportCrash(ex);
      throw ex;
    }
  }

  // The notice goes out from the thread's entry point, before worker.js's own handler
  // formats and prints its report of the fault (that takes a millisecond); the handler's
  // wrapper below stays as the backstop for glue that calls the entry point otherwise.
  function catchAtEntryPoint() {
    var entry = Module['invokeEntryPoint'];
    if (typeof entry != 'function' || entry.__wasmpoolWrapped) return;
    var wrapped = function () {
      return reportingCrash(entry, this, arguments);
    };
    wrapped.__wasmpoolWrapped = true;
    Module['invokeEntryPoint'] = wrapped;
  }

  // The worker's message handler, wrapped: it takes the port and the runtime info, notes
  // which pthread runs here, and reports a fatal error before the worker dies.
  function wrapHandler(handler) {
    if (typeof handler != 'function' || handler.__wasmpoolWrapped) return handler;
    var wrapped = function (e) {
      var data = e && e.data;
      if (data && data.cmd === PORT_COMMAND) {
        // A new channel replaces the one before it (a worker kept through a warm restart).
        if (state.port && state.port !== data.port) state.port.close();
        state.port = data.port;
        state.channel = data.channel;
        if (data.runtime) state.runtime = data.runtime;
        return;
      }
      if (data && data.cmd === RUNTIME_COMMAND) {
        state.runtime = data.runtime;
        return;
      }
      if (data && data.cmd === 'run') {
        // A worker is reused for thread after thread: who runs here now (3.1.x calls the
        // thread's struct threadInfoStruct, later releases pthread_ptr).
        state.thread = -1;
        if (typeof globalThis == 'object') globalThis['__wasmpoolPoolThread'] = -1;
        state.pthread = (data.pthread_ptr !== undefined ? data.pthread_ptr : data.threadInfoStruct) >>> 0;
        state.reported = false;
        // A worker kept through a warm restart: what its crashed thread left in the glue
        // (abort(), the exception bookkeeping), or a thread the abandon unwound inside a
        // catch block; a thread that ended normally left nothing to forget.
        forgetCrashState();
        catchAtEntryPoint();
      }
      return reportingCrash(handler, this, [e]);
    };
    wrapped.__wasmpoolWrapped = true;
    return wrapped;
  }

  // The handler may not exist yet (glue that is its own worker assigns it after this code;
  // on Node it even creates `self` later, as the global object) and may be replaced while
  // the thread lives (recent glue swaps in a queue while it loads, then restores itself).
  // So the property itself is taken over: every handler assigned to it is wrapped. On Node
  // messages reach the global `onmessage`, read through this accessor; in a browser the
  // inherited event-handler setter still receives the wrapped handler.
  function interceptHandler() {
    var scope = typeof self != 'undefined' ? self : globalThis;
    var inherited = null;
    for (var o = scope; o && !inherited; o = Object.getPrototypeOf(o)) {
      inherited = Object.getOwnPropertyDescriptor(o, 'onmessage') || null;
    }
    var forward = inherited && typeof inherited.set == 'function' ? inherited : null;
    var current = wrapHandler(forward ? (inherited.get ? inherited.get.call(scope) : null) : inherited && inherited.value);
    try {
      Object.defineProperty(scope, 'onmessage', {
        configurable: true,
        enumerable: true,
        get: function () {
          return current;
        },
        set: function (handler) {
          current = wrapHandler(handler);
          if (forward) forward.set.call(scope, current);
        },
      });
    } catch (e) {
      if (typeof current == 'function') scope.onmessage = current;
      return false;
    }
    if (forward && current) forward.set.call(scope, current);
    return true;
  }

  function installPthreadSide() {
    Module['print'] = forwardOutput('stdout');
    Module['printErr'] = forwardOutput('stderr');
    Module['__wasmpoolPrintErr'] = Module['printErr'];
    if (!interceptHandler()) {
      console.error('[wasm-threadpool] pthread hooks: this worker\'s onmessage cannot be taken over; a handler ' +
        'assigned later is not wrapped, so a crash of this thread may be reported by the host only');
    }
  }

  function installHostSide(config) {
    var nextChannel = 0;
    var workers = [];
    var warned = false;

    function openChannel(worker) {
      var channel = nextChannel++;
      var pair = new MessageChannel();
      worker.postMessage({ cmd: PORT_COMMAND, port: pair.port2, channel: channel, runtime: config.runtime || null },
        [pair.port2]);
      config.announce(pair.port1, channel);
    }

    function warn(message) {
      if (warned || !config.log) return;
      warned = true;
      config.log({ type: 'log', channel: -1, thread: -1, pthread: 0, level: 3 /* warn: protocol.cjs LOG_LEVELS */, message: message, time: Date.now() });
    }

    function checkPThread() {
      var missing = [];
      if (typeof PThread != 'object' || !PThread) {
        missing.push('PThread');
      } else {
        var needed = ['loadWasmModuleToWorker', 'getNewWorker', 'allocateUnusedWorker'];
        for (var i = 0; i < needed.length; i++) if (typeof PThread[needed[i]] != 'function') missing.push('PThread.' + needed[i]);
        if (!Array.isArray(PThread.unusedWorkers)) missing.push('PThread.unusedWorkers');
        if (!Array.isArray(PThread.runningWorkers)) missing.push('PThread.runningWorkers');
      }
      if (missing.length) {
        throw new Error('wasm-threadpool pthread hooks: this glue has no ' + missing.join(', ') + ' (they know ' +
          'the PThread of Emscripten 3.1.x to 4.x, see docs/PATCH.md); it cannot be hosted');
      }
    }

    function wrapPThread() {
      checkPThread();
      // Set by the patch's prelude, which runs after this pre-js: read it now. 3.1.x worker
      // files patched to queue what arrives while they load.
      var earlyRun = typeof __wasmpoolWorkerQueuesEarlyRun != 'undefined' && __wasmpoolWorkerQueuesEarlyRun;
      // Glue that is its own worker (the patch marker's workerIsGlue, passed by the host):
      // its handler passes every message through the hooks, loading or not.
      var glueIsWorker = !!config.workerIsGlue;
      var load = PThread.loadWasmModuleToWorker;
      PThread.loadWasmModuleToWorker = function (worker, onFinishedLoading) {
        workers.push(worker);
        var opened = false;
        function open() {
          if (opened) return;
          opened = true;
          worker.__wasmpoolPortPending = false;
          openChannel(worker);
        }
        // 3.1.x calls back once the worker said 'loaded'; later releases return a promise
        // instead and ignore the callback (loadWasmModuleToAllWorkers maps over the workers,
        // so the second argument may be an index).
        var result = load.call(PThread, worker, function (w) {
          open();
          if (typeof onFinishedLoading == 'function') onFinishedLoading(w);
        });
        var promised = !!result && typeof result.then == 'function';
        if (glueIsWorker || (earlyRun && !promised)) {
          // The port can go right behind 'load'.
          open();
          // 3.1.x: the worker queues what arrives while it loads, so a thread can be started
          // on it now (spawnThread posts 'run' once worker.loaded is set). Later releases
          // post 'run' at once by themselves.
          if (!promised) worker.loaded = true;
        } else if (promised) {
          // A worker file of moduleArg glue (3.1.42 to 3.1.57) replays what arrived while it
          // loaded straight into its own handler, past the hooks: the port waits for 'loaded'.
          worker.__wasmpoolPortPending = true;
          result.then(open);
        }
        return result;
      };
      var getNewWorker = PThread.getNewWorker;
      PThread.getNewWorker = function () {
        if (PThread.unusedWorkers.length === 0 && PThread.runningWorkers.length >= config.threadLimit) {
          config.onThreadLimit(PThread.runningWorkers.length, config.threadLimit);
          return undefined; // spawnThread() turns this into EAGAIN
        }
        var worker = getNewWorker.call(PThread);
        if (worker && worker.__wasmpoolPortPending) {
          warn('a pthread was started on a worker that is still loading; with this glue\'s worker file ' +
            'the thread runs past the pthread hooks until its worker has loaded, so a fault of it is ' +
            'reported by the host (kind and thread less precise), not by the thread itself');
        }
        return worker;
      };
    }

    // PThread exists once the glue has run up to createWasm(). With the host's own
    // instantiateWasm (synchronous: the glue's prewarmed workers are loaded inside it), wrap
    // there; glue instantiated its own way (a package's init() in a job) is wrapped from
    // preInit, which runs at the end of the glue's top level, before instantiation ends.
    var wrapped = false;
    function wrapOnce() {
      if (wrapped) return;
      wrapped = true;
      wrapPThread();
    }
    var userInstantiate = Module['instantiateWasm'];
    if (typeof userInstantiate == 'function') {
      Module['instantiateWasm'] = function (info, receiveInstance) {
        wrapOnce();
        var exports = userInstantiate(info, receiveInstance);
        // The instance exists (the host's instantiateWasm is synchronous): the pool's
        // workers can load it now, while this thread runs the rest of the start (the
        // static constructors, embind's registrations), instead of after it.
        if (config.prewarm && typeof wasmModule != 'undefined' && wasmModule) prewarm(config.prewarm);
        return exports;
      };
    }
    function prewarm(count) {
      for (var n = PThread.unusedWorkers.length; n < count; n++) {
        PThread.allocateUnusedWorker();
        PThread.loadWasmModuleToWorker(PThread.unusedWorkers[PThread.unusedWorkers.length - 1]);
      }
    }
    var preInit = Module['preInit'];
    // preInit callbacks are popped from the end: ours goes last so it runs first.
    Module['preInit'] = (preInit ? (typeof preInit == 'function' ? [preInit] : preInit) : []).concat([wrapOnce]);
    // Called by the host once the instance exists: runtimeInfo() of a module linked with
    // the wasmpool runtime (null otherwise), then `count` workers loaded ahead of need
    // (config.prewarm loaded them already, when the glue let it).
    // Workers made from now on get the runtime with their port. Workers the glue
    // prewarmed itself (-sPTHREAD_POOL_SIZE) are idle now, so they read it at once: a
    // worker running a pool thread never returns to its event loop to read a message.
    Module['__wasmpoolStart'] = function (runtime, count) {
      config.runtime = runtime;
      for (var i = 0; i < workers.length; i++) workers[i].postMessage({ cmd: RUNTIME_COMMAND, runtime: runtime });
      prewarm(count);
    };
    // A warm restart in place (host.cjs, resetInPlace): the host keeps this instance and puts
    // its memory back as it was when __wasmpoolResetPoint() was called. What this glue's
    // JavaScript knows of threads and stacks lives beside that memory and must go back
    // with it. null when this glue cannot: no stackSave/stackRestore in its scope, a PThread
    // of another shape, or pthreads already running (a static initialiser's thread, whose
    // state the memory holds).
    Module['__wasmpoolResetPoint'] = function () {
      if (typeof stackSave != 'function' || typeof stackRestore != 'function') return null;
      if (typeof PThread != 'object' || !PThread || !PThread.pthreads || typeof PThread.pthreads != 'object') return null;
      if (!Array.isArray(PThread.runningWorkers) || !Array.isArray(PThread.unusedWorkers)) return null;
      if (PThread.runningWorkers.length > 0) return null;
      // stackEnd: the lowest address of the host thread's stack (0 when not known), so the
      // free part of the stack need not be saved. keepalive: the glue's count of callbacks
      // it has pending on this thread's event loop (timers, async calls of the module).
      return { stack: stackSave(), stackEnd: typeof _emscripten_stack_get_end == 'function' ? _emscripten_stack_get_end() : 0,
        keepalive: keepaliveCount() };
    };
    function keepaliveCount() {
      return typeof runtimeKeepaliveCounter == 'number' ? runtimeKeepaliveCounter : 0;
    }
    // Whether a reset to `point` is still right: not when a callback of the dead generation
    // is still pending on the host's event loop (the module scheduled one from a call: it
    // would run in the reset memory); then the host makes a new instance instead. An
    // abort() of the host thread itself is no reason: the reset forgets it (forgetCrashState).
    Module['__wasmpoolResettable'] = function (point) {
      return keepaliveCount() === point.keepalive;
    };
    // The memory is back at the reset point: no pthread runs. `kept`: the workers of the
    // dead generation that keep this glue loaded (their threads unwound, none crashed: the
    // host's supervised-worker.cjs asked each); they are idle workers again, each with a new
    // channel to main. Every other worker was recycled or terminated, and new ones are asked
    // for as at the first start. The host thread's stack pointer, which a fault unwinding
    // through wasm leaves where it was, goes back to where it was then, and what a fault of
    // the host thread left in this glue's JavaScript (its abort(), its exception
    // bookkeeping) is forgotten.
    Module['__wasmpoolReset'] = function (point, kept) {
      forgetCrashState();
      PThread.runningWorkers.length = 0;
      PThread.unusedWorkers.length = 0;
      for (var key in PThread.pthreads) delete PThread.pthreads[key];
      workers.length = 0;
      nextChannel = 0;
      for (var i = 0; i < kept.length; i++) {
        var worker = kept[i];
        // 3.1.x names its thread worker.pthread, later releases worker.pthread_ptr.
        if ('pthread' in worker) worker.pthread = undefined;
        if ('pthread_ptr' in worker) worker.pthread_ptr = 0;
        PThread.unusedWorkers.push(worker);
        workers.push(worker);
        openChannel(worker);
      }
      stackRestore(point.stack);
    };
  }

  function installUserSide() {
    var REGISTRY = typeof Symbol == 'function' ? Symbol.for('wasm-threadpool.instance-workers.v1') : null;
    function track(worker) {
      var id = typeof __wasmpoolModuleId != 'undefined' ? __wasmpoolModuleId : null;
      if (!REGISTRY || !worker || id === null || typeof worker.unref != 'function') return;
      var registry = globalThis[REGISTRY];
      if (!registry) {
        registry = { routed: Object.create(null), workers: Object.create(null) };
        Object.defineProperty(globalThis, REGISTRY, { value: registry });
      }
      if (registry.routed[id]) worker.unref();
      else (registry.workers[id] || (registry.workers[id] = [])).push(worker);
    }
    function wrap() {
      if (typeof PThread != 'object' || !PThread || typeof PThread.allocateUnusedWorker != 'function') return;
      var existing = [].concat(PThread.unusedWorkers || [], PThread.runningWorkers || []);
      for (var i = 0; i < existing.length; i++) track(existing[i]);
      var allocate = PThread.allocateUnusedWorker;
      PThread.allocateUnusedWorker = function () {
        var result = allocate.apply(PThread, arguments);
        track(PThread.unusedWorkers[PThread.unusedWorkers.length - 1]);
        return result;
      };
    }
    var preInit = Module['preInit'];
    // preInit runs after the patch's prelude has set the module id, before instantiation.
    Module['preInit'] = (preInit ? (typeof preInit == 'function' ? [preInit] : preInit) : []).concat([wrap]);
  }

  // The pthread side: 3.1.x worker files set Module.ENVIRONMENT_IS_PTHREAD before they import
  // the glue; glue that is its own worker has a local ENVIRONMENT_IS_PTHREAD, declared and
  // set before this code (in 3.1.x glue the local is declared later, so still undefined).
  if (Module['ENVIRONMENT_IS_PTHREAD'] || (typeof ENVIRONMENT_IS_PTHREAD != 'undefined' && ENVIRONMENT_IS_PTHREAD)) {
    installPthreadSide();
  } else if (Module['__wasmpool']) {
    installHostSide(Module['__wasmpool']);
  } else if (typeof globalThis == 'object' && globalThis.__wasmpoolHostConfig) {
    // Any other patched glue instantiated inside a pool host (a job that loads a package's
    // own glue): its pthreads get channels to main too. A copy: runtime info and channel
    // numbers are per instance.
    installHostSide(Object.assign({}, globalThis.__wasmpoolHostConfig, { runtime: null, workerIsGlue: false }));
  } else {
    installUserSide();
  }

  // Called from C++ (src/runtime) through EM_JS.
  return {
    // This worker runs pool thread `thread`: every message it sends from now on says so.
    bindThread: function (thread) {
      state.thread = thread;
      // A pool thread leaves nothing of its own on the event loop (it only waits in wasm):
      // a warm restart in place may keep its worker (worker-bootstrap.cjs, recycleWorker).
      if (typeof globalThis == 'object') globalThis['__wasmpoolPoolThread'] = thread;
    },
    log: function (level, message) {
      var entry = { type: 'log', channel: state.channel, thread: state.thread, pthread: state.pthread, level: level,
        message: message, time: Date.now() };
      if (post(entry)) return;
      var hostLog = Module['__wasmpool'] && Module['__wasmpool'].log;
      if (hostLog) hostLog(entry);
      else (level >= 3 ? err : out)('[wasmpool thread ' + state.thread + '] ' + message);
    },
  };
})();
