// wasm-threadpool pthread hooks: a --pre-js, so it runs inside the Emscripten module
// factory in every context the glue is loaded in. It is inert unless a ThreadPoolHost
// configured it (Module.__wasmpool) or the code runs in one of that host's pthread workers.
//
// Host side (Emscripten's main runtime thread, i.e. the ThreadPoolHost worker):
//   hands one MessagePort per pthread worker, in the order the workers finish loading,
//   so every pool thread owns a direct channel to Node's main thread.
// Pthread side (every Emscripten pthread worker):
//   receives that port, and wraps the worker's message handler so that a fatal error of
//   the thread (trap, abort, out-of-bounds, stack overflow, terminate, uncaught C++
//   exception) is reported to main over the port and written to the crash record in
//   shared memory *before* the worker dies. Logs from C++ (wasmpool::log) go over the
//   same port, so they reach main even while the host thread is blocked.
//
// Written in ES5-compatible style with no top-level declarations other than one
// namespaced object, because it is pasted into generated glue of any shape.
var __wasmpoolHooks = (function () {
  'use strict';
  var PORT_COMMAND = 'wasmpool:port';

  // Crash kinds; the numeric values are shared with src/runtime/crash_record.hpp.
  var KINDS = ['unknown', 'trap', 'abort', 'oob', 'stack-overflow', 'exception', 'terminate',
    'out-of-memory'];

  var state = {
    port: null,
    channel: -1,
    thread: -1,
    crashRecordAddr: 0,
    hooksAddr: 0,
    reported: false,
  };

  function memoryBuffer() {
    var memory = Module['wasmMemory'];
    return memory ? memory.buffer : null;
  }

  // Classify a JS-visible fault. The C++ side may already have written a more precise
  // kind into the crash record (std::terminate, failed allocation); that one wins.
  function classify(ex) {
    if (typeof ex === 'number') return 'exception';
    var text = String((ex && ex.message) || ex);
    if (/Stack overflow|Maximum call stack size exceeded/i.test(text)) return 'stack-overflow';
    if (/out of bounds/i.test(text)) return 'oob';
    if (/OOM|Cannot enlarge memory|out of memory|bad_alloc/i.test(text)) return 'out-of-memory';
    if (/^Aborted|Aborted\(/.test(text)) return 'abort';
    if (typeof WebAssembly === 'object' && ex instanceof WebAssembly.RuntimeError) return 'trap';
    if (ex instanceof RangeError) return 'stack-overflow';
    return 'unknown';
  }

  function describe(ex) {
    if (typeof ex === 'number') return 'uncaught C++ exception (thrown object at 0x' + ex.toString(16) + ')';
    if (ex && ex.message) return String(ex.message);
    return String(ex);
  }

  // Layout (see src/runtime/crash_record.hpp):
  //   u32 state (0 empty, 1 writing, 2 complete) | i32 thread | u32 kind | u32 length | u8 message[]
  var RECORD_MESSAGE_OFFSET = 16;
  var RECORD_MESSAGE_CAPACITY = 2048;

  function readRecordKind() {
    var buffer = memoryBuffer();
    if (!buffer || !state.crashRecordAddr) return 0;
    var words = new Int32Array(buffer, state.crashRecordAddr, 4);
    return Atomics.load(words, 0) === 2 ? Atomics.load(words, 2) : 0;
  }

  function writeRecord(kind, message) {
    var buffer = memoryBuffer();
    if (!buffer || !state.crashRecordAddr) return;
    var words = new Int32Array(buffer, state.crashRecordAddr, 4);
    // First crash wins: another thread (or C++'s terminate handler) may own the record.
    if (Atomics.compareExchange(words, 0, 0, 1) !== 0) return;
    var bytes = new TextEncoder().encode(message).subarray(0, RECORD_MESSAGE_CAPACITY - 1);
    new Uint8Array(buffer, state.crashRecordAddr + RECORD_MESSAGE_OFFSET, RECORD_MESSAGE_CAPACITY)
      .set(bytes);
    Atomics.store(words, 1, state.thread);
    Atomics.store(words, 2, Math.max(0, KINDS.indexOf(kind)));
    Atomics.store(words, 3, bytes.length);
    Atomics.store(words, 0, 2);
  }

  function markFaulted() {
    var buffer = memoryBuffer();
    if (!buffer || !state.hooksAddr || state.thread < 0) return;
    // RuntimeHooks: u32 progress | u32 worker_count | u32 worker_state[64]; 2 = faulted.
    Atomics.store(new Int32Array(buffer, state.hooksAddr, 2 + 64), 2 + state.thread, 2);
  }

  function reportCrash(ex) {
    if (state.reported) return;
    state.reported = true;
    var kind = classify(ex);
    var recordKind = readRecordKind();
    if (recordKind > 0 && KINDS[recordKind]) kind = KINDS[recordKind];
    var message = describe(ex);
    var stack = ex && ex.stack ? String(ex.stack) : '';
    try {
      markFaulted();
      writeRecord(kind, message);
    } catch (e) {
      // The record is a backstop; the port message below is the fast path.
    }
    if (state.port) {
      try {
        state.port.postMessage({
          type: 'crash',
          channel: state.channel,
          thread: state.thread,
          kind: kind,
          message: message,
          stack: stack,
          time: Date.now(),
        });
      } catch (e) {
        // Nothing left to try: main still sees the host fail or the watchdog fire.
      }
    }
  }

  // Text the pthread prints from JS (abort's "Aborted(...)", worker.js's own report of the
  // fault) goes to main's log sink with the thread's index, not straight to fd 2.
  function forwardOutput(stream) {
    return function (text) {
      if (state.port) {
        try {
          state.port.postMessage({ type: 'output', channel: state.channel, thread: state.thread, stream: stream,
            text: String(text), time: Date.now() });
          return;
        } catch (e) {
          // fall through to the console
        }
      }
      (stream === 'stdout' ? console.log : console.error)(String(text));
    };
  }

  function installPthreadSide() {
    Module['print'] = forwardOutput('stdout');
    Module['printErr'] = forwardOutput('stderr');
    Module['__wasmpoolPrintErr'] = Module['printErr'];
    var original = self.onmessage;
    self.onmessage = function (e) {
      var data = e && e.data;
      if (data && data.cmd === PORT_COMMAND) {
        state.port = data.port;
        state.channel = data.channel;
        return;
      }
      try {
        return original.call(this, e);
      } catch (ex) {
        if (ex !== 'unwind' && !(ex && ex.name === 'ExitStatus')) reportCrash(ex);
        throw ex;
      }
    };
  }

  function installHostSide(config) {
    var channels = config.channels || [];
    var next = 0;
    var userInstantiate = Module['instantiateWasm'];
    // PThread exists once the glue has run up to createWasm(), which calls
    // instantiateWasm before loading the prewarmed workers; wrap it there.
    Module['instantiateWasm'] = function (info, receiveInstance) {
      var load = PThread.loadWasmModuleToWorker;
      PThread.loadWasmModuleToWorker = function (worker, onFinishedLoading) {
        return load.call(PThread, worker, function (w) {
          // After 'loaded' the glue runs in the worker, so its handler is wrapped.
          if (next < channels.length) {
            var port = channels[next];
            worker.postMessage({ cmd: PORT_COMMAND, port: port, channel: next }, [port]);
            next++;
          }
          if (onFinishedLoading) onFinishedLoading(w);
        });
      };
      return userInstantiate(info, receiveInstance);
    };
  }

  if (Module['ENVIRONMENT_IS_PTHREAD']) {
    installPthreadSide();
  } else if (Module['__wasmpool']) {
    installHostSide(Module['__wasmpool']);
  }

  // Called from C++ (src/runtime) through EM_JS on each pool thread.
  return {
    bindThread: function (thread, crashRecordAddr, hooksAddr) {
      state.thread = thread;
      state.crashRecordAddr = crashRecordAddr;
      state.hooksAddr = hooksAddr;
      if (state.port) state.port.postMessage({ type: 'bind', channel: state.channel, thread: thread });
    },
    log: function (level, message) {
      var entry = { type: 'log', channel: state.channel, thread: state.thread, level: level,
        message: message, time: Date.now() };
      if (state.port) {
        state.port.postMessage(entry);
        return;
      }
      var hostLog = Module['__wasmpool'] && Module['__wasmpool'].log;
      if (hostLog) hostLog(entry);
      else (level >= 3 ? err : out)('[wasmpool thread ' + state.thread + '] ' + message);
    },
  };
})();
