// The first script of every worker the host creates (supervised-worker.cjs). It installs
// the thread's safety, then loads the script that was asked for, as that script's own
// author expects: the original workerData, the original parentPort, the same global.
//
// The safety, for a thread of any package (Closure-compiled or not, any Emscripten
// generation, patched or not):
//   - its last word: an uncaught error (a trap, abort(), an out-of-bounds access, a stack
//     overflow, an exception the glue rethrows) is posted to main over the thread's own
//     port, with its kind, message and stack, before the thread dies. It is a monitor
//     ('uncaughtExceptionMonitor'): what happens next is what would have happened anyway.
//     Patched glue's pthread hooks report earlier, from the thread's entry point, with the
//     pool thread's identity; then this stays silent (CRASH_REPORTED);
//   - its output: what it writes to stdout and stderr (console, process.stdout, and
//     fs.writeSync on fds 1 and 2, which 3.1.x worker files use) goes over the same port
//     to main's log sink, line by line, with the thread's identity, instead of through the
//     host's event loop, which is blocked while the host runs a call;
//   - its identity: the pthread it runs, read from Emscripten's 'run' message as the
//     glue's own listener receives it.
//
// The messages are protocol.cjs's thread messages (THREAD_TO_MAIN: 'output', 'crash').
//
// Recycling (the host's warm restart, docs/ARCHITECTURE.md): after a crash the host resets
// its instance's memory in place (or makes a new instance) in the same workers. A
// recyclable worker (workerData says so: the host made it for patched glue):
//   - survives its own crash once the pthread hooks reported it: the uncaught error that
//     follows the report is taken here instead of ending the thread (surviveReportedCrash);
//   - on the host's recycle message (once its thread is back on the event loop), when the
//     host keeps its instance (`keep`), this worker ran a pool thread or none yet, was not
//     loading, and did not crash or only by a wasm trap: keeps its script and glue, takes
//     a new port to main and answers 'kept' (recycleWorker says why each condition).
//     Otherwise it removes the
//     listeners its script put on parentPort, forgets that script (require's cache, every
//     global it added, the hooks' onmessage accessor among them), takes a new port to
//     main, answers 'recycled' and waits, like a standby, to be told what to run next. A
//     script loaded by import() (an ES module keeps its state in the loader for good)
//     cannot be forgotten: the worker answers 'not-recyclable' and the host terminates it;
//     so does a worker still loading its module (work of the old script still in flight).
//
// CommonJS, like the few helpers it loads (shared/*.cjs), and CommonJS scripts are loaded
// with require(): a worker whose script is CommonJS (3.1.x glue's worker file) starts
// without Node's ES module loader, and loads it only when that script imports an ES module.
'use strict';
const workerThreads = require('node:worker_threads');
const { receiveMessageOnPort } = workerThreads;
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire, syncBuiltinESMExports } = require('node:module');
const { fileURLToPath } = require('node:url');
const { BOOTSTRAP_KEY, CLASSIFY, CRASH_KEEPS_GLUE, CRASH_REPORTED, POOL_THREAD } = require('../shared/global-names.cjs');
const { classifyFault, describeFault, isControlFlow } = require('../shared/fault-kind.cjs');
const { captureOutput } = require('../shared/output-capture.cjs');
const { collectGarbage } = require('../shared/collect-garbage.cjs');

const { streams, recyclable } = workerThreads.workerData[BOOTSTRAP_KEY];
// Replaced when the worker is recycled: a new generation talks to main on a new port.
let { port, channel } = workerThreads.workerData[BOOTSTRAP_KEY];
// A standby worker (supervised-worker.cjs) learns what to run, and its workerData, from its
// first message, when the host hands it to whoever asked for a worker.
let { target, workerData } = workerThreads.workerData[BOOTSTRAP_KEY];
workerThreads.workerData = workerData;
syncBuiltinESMExports();
// The port must never keep the thread alive: the thread's own work decides that.
port.unref();
globalThis[CLASSIFY] = classifyFault;

const identity = { channel, thread: -1, pthread: 0 };

function post(message) {
  try {
    port.postMessage({ ...message, ...identity, time: Date.now() });
  } catch {
    // main is gone: nothing left to tell
  }
}

function reportDeath(error) {
  if (isControlFlow(error) || globalThis[CRASH_REPORTED]) return;
  globalThis[CRASH_REPORTED] = true;
  output.flush();
  post({ type: 'crash', kind: classifyFault(error), message: describeFault(error),
    stack: error?.stack ? String(error.stack) : '' });
}

// Blobs the glue posts as the script to import (browser-first builds: `urlOrBlob`) and
// then reads with importScripts(URL.createObjectURL(blob)), which on Node is
// fs.readFileSync(url). A Blob can only be read asynchronously, so a message carrying one
// is held (and every message after it, to keep their order) until its text is in hand;
// createObjectURL then remembers which URL stands for which text, and readFileSync answers
// for those URLs.
const blobTexts = new WeakMap(); // Blob -> text
const urlTexts = new Map(); // blob: URL -> text

function serveBlobUrls() {
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = function (blob) {
    const url = createObjectURL.call(this, blob);
    if (blobTexts.has(blob)) urlTexts.set(url, blobTexts.get(blob));
    return url;
  };
  const revokeObjectURL = URL.revokeObjectURL;
  URL.revokeObjectURL = function (url) {
    urlTexts.delete(url);
    return revokeObjectURL.call(this, url);
  };
  const readFileSync = fs.readFileSync;
  fs.readFileSync = function (file, options) {
    if (typeof file === 'string' && urlTexts.has(file)) {
      const text = urlTexts.get(file);
      const encoding = typeof options === 'string' ? options : options?.encoding;
      return encoding ? text : Buffer.from(text);
    }
    return readFileSync.call(this, file, options);
  };
}

function blobIn(data) {
  return data && typeof data === 'object' && data.urlOrBlob instanceof Blob && !blobTexts.has(data.urlOrBlob)
    ? data.urlOrBlob : null;
}

// The glue's message listeners on parentPort, wrapped: they learn which pthread runs here,
// wait for a Blob's text when a message carries one, and (recyclable workers) survive a
// crash the hooks reported. The first one also takes the host's recycle message.
// Listeners the script added (not once()) are remembered, to be removed on recycling.
const scriptListeners = []; // [event, listener as given, as registered]
function watchParentPort() {
  const parentPort = workerThreads.parentPort;
  const wrappers = new WeakMap();
  let held = null; // messages waiting behind a Blob being read: [listener, self, data]
  function wrap(listener) {
    if (typeof listener !== 'function') return listener;
    if (!wrappers.has(listener)) {
      const wrapped = function (data) {
        const recycle = data?.[BOOTSTRAP_KEY]?.recycle;
        if (recycle) {
          // A 3.1.x worker file patched to queue what came while it loaded replays it from a
          // timer it set when it said 'loaded'. Until that has run (replaysPending), the answer
          // waits for a timer set now, which runs after it; otherwise it goes at once (a
          // timer costs a restart ~1 ms). A worker still loading when the message came may
          // say 'loaded' before that timer, and set its replay timer after it: what it
          // replays (the dead generation's 'run') would run after the answer, so it counts
          // as loading (loadingThen).
          const loadingThen = loading;
          if (scriptListeners[0]?.[2] !== wrapped) return undefined;
          if (replaysPending === 0 && !loading) recycleWorker(recycle, loadingThen);
          else setTimeout(() => recycleWorker(recycle, loadingThen), 0);
          return undefined;
        }
        if (data && data.cmd === 'run') {
          identity.pthread = (data.pthread_ptr ?? data.threadInfoStruct ?? 0) >>> 0;
          globalThis[CRASH_REPORTED] = false;
        }
        if (data && data.cmd === 'load') loading = true;
        const blob = blobIn(data);
        if (held) {
          held.push([listener, this, data]);
        } else if (blob) {
          held = [[listener, this, data]];
          blob.text().then((text) => {
            blobTexts.set(blob, text);
            const queue = held;
            held = null;
            for (const [fn, self, message] of queue) fn.call(self, message);
          });
        } else {
          return listener.call(this, data);
        }
        return undefined;
      };
      wrappers.set(listener, wrapped);
    }
    return wrappers.get(listener);
  }
  // The script says 'loaded' when its module is ready.
  const postMessage = parentPort.postMessage;
  parentPort.postMessage = function (message, transferList) {
    if (message && message.cmd === 'loaded') {
      loading = false;
      // Pending until a timer set after the script's own (set when this returns) has run:
      // timers of one duration run in the order they were set.
      replaysPending++;
      setImmediate(() => setTimeout(() => {
        replaysPending--;
      }, 0));
    }
    return postMessage.call(this, message, transferList);
  };
  for (const method of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener', 'off', 'removeListener']) {
    const original = parentPort[method];
    parentPort[method] = function (event, listener) {
      const wrapped = event === 'message' ? wrap(listener) : listener;
      if (method === 'on' || method === 'addListener' || method === 'prependListener') {
        scriptListeners.push([event, listener, wrapped]);
      }
      if (method === 'off' || method === 'removeListener') {
        const at = scriptListeners.findIndex(([e, , l]) => e === event && l === wrapped);
        if (at >= 0) scriptListeners.splice(at, 1);
      }
      return original.call(this, event, wrapped);
    };
  }
}

// A recyclable worker survives its own crash once the pthread hooks reported it (they set
// CRASH_REPORTED, then the error goes on up through the glue's handler, or through the
// timer a patched worker file replays early messages from): the next uncaught error, that
// one, is taken here instead of ending the thread. Until a report, nothing is taken, and an
// uncaught error ends the thread as it would have.
function surviveReportedCrash() {
  let reported = false;
  const survive = () => {
    output.flush();
  };
  Object.defineProperty(globalThis, CRASH_REPORTED, {
    configurable: true,
    get: () => reported,
    set: (value) => {
      reported = value === true;
      process.off('uncaughtException', survive);
      if (reported) process.once('uncaughtException', survive);
    },
  });
}

// The host's recycle message (see the header): this worker's thread is back on its event
// loop, since the message was read. Only a script loaded by require() can be loaded again
// as if for the first time, and only while it has no loading of its own in flight.
let loadedFile = null; // the CommonJS file require() loaded, if that is how the script came
// Between the glue's 'load' and the end of its loading: the script has work of its own in
// flight (an import, the module's instantiation), which would run after it was forgotten.
let loading = false;
// The script's 'loaded' messages whose aftermath (its replay of what came while it loaded)
// may not have run yet; see the recycle message's handler.
let replaysPending = 0;
let globalsBefore = null; // the global object's own keys before that script ran
function recycleWorker({ port: nextPort, channel: nextChannel, keep }, loadingThen) {
  const parentPort = workerThreads.parentPort;
  const busy = loading || loadingThen;
  // Only a worker that ran nothing yet, or a pool thread, is known to leave nothing of the
  // dead generation behind on its event loop: another thread of the module may have left
  // timers or callbacks there, which would run in the reset memory.
  const quiet = identity.pthread === 0 || globalThis[POOL_THREAD] >= 0;
  if (keep && !busy && quiet && (!globalThis[CRASH_REPORTED] || globalThis[CRASH_KEEPS_GLUE] === true)) {
    // The host keeps its instance and resets its memory in place: such a worker whose
    // thread did not crash, or crashed by a trap that left its glue as it was (the pthread
    // hooks say which), keeps its script and glue too (an ES module's as well), and only
    // changes its channel to main. Any other goes on below.
    output.flush();
    takePort(nextPort, nextChannel);
    parentPort.postMessage({ [BOOTSTRAP_KEY]: 'kept' });
    return;
  }
  if (!loadedFile || busy) {
    nextPort.close();
    parentPort.postMessage({ [BOOTSTRAP_KEY]: 'not-recyclable' });
    return;
  }
  output.flush();
  for (const [event, listener] of [...scriptListeners]) parentPort.removeListener(event, listener);
  delete require.cache[loadedFile];
  const at = module.children.findIndex((child) => child.filename === loadedFile);
  if (at >= 0) module.children.splice(at, 1);
  loadedFile = null;
  // What the script and its glue put on the global object (3.1.x worker files: self,
  // Module, importScripts, postMessage; the pthread hooks' onmessage accessor; the glue's
  // own globals) holds the dead instance, and would meet the next generation's script.
  for (const key of Reflect.ownKeys(globalThis)) {
    if (!globalsBefore.has(key)) delete globalThis[key];
  }
  takePort(nextPort, nextChannel);
  target = { kind: 'standby' };
  parentPort.postMessage({ [BOOTSTRAP_KEY]: 'recycled' });
  // The dead generation is unreachable now (collect-garbage.cjs says why this is needed).
  // A pool thread's worker is back on its event loop only now, until the next recycling.
  collectGarbage({ left: 'instance', wait: true });
  start();
}

// A new generation talks to main on a new port; the thread it runs is told by its next 'run',
// and nothing of it has crashed yet (what the hooks noted of the dead one's crash is forgotten).
function takePort(nextPort, nextChannel) {
  globalThis[CRASH_REPORTED] = false;
  globalThis[CRASH_KEEPS_GLUE] = false;
  port.close();
  port = nextPort;
  port.unref();
  channel = nextChannel;
  Object.assign(identity, { channel, thread: -1, pthread: 0 });
}

// Code given as text (eval: true, or a Blob's): run as Node runs a worker's eval code, a
// CommonJS body with require, module, __filename and __dirname.
function runScript(code, filename) {
  const requireFrom = createRequire(path.join(process.cwd(), '[worker eval]'));
  const module = { exports: {} };
  const body = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${code}\n})`,
    { filename });
  body.call(module.exports, module.exports, requireFrom, module, filename, process.cwd());
}

async function adopted() {
  const parentPort = workerThreads.parentPort;
  const queued = receiveMessageOnPort(parentPort);
  const message = queued ? queued.message : await new Promise((resolve) => parentPort.once('message', resolve));
  ({ target, workerData } = message[BOOTSTRAP_KEY]);
  workerThreads.workerData = workerData;
  syncBuiltinESMExports();
}

// A script is loaded as Node loads a worker's main script, by its format: CommonJS (a .cjs
// file, or a .js file whose package is not "type": "module") by require(), which is what
// import() does with it in the end, without the ES module loader and its CommonJS lexer;
// anything else (.mjs, an ES module .js, a data: URL) by import().
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  // The nearest package.json decides, as for Node (which stops at node_modules).
  for (let dir = path.dirname(file); path.basename(dir) !== 'node_modules'; dir = path.dirname(dir)) {
    let text;
    try {
      text = fs.readFileSync(path.join(dir, 'package.json'), 'utf8');
    } catch {
      if (path.dirname(dir) === dir) return true;
      continue;
    }
    try {
      return JSON.parse(text)?.type !== 'module';
    } catch {
      return false; // import() reports the broken package.json as Node would
    }
  }
  return true;
}

function loadUrl(href) {
  if (href.startsWith('file:')) {
    const file = fileURLToPath(href);
    if (isCommonJs(file)) {
      loadedFile = require.resolve(file);
      globalsBefore = new Set(Reflect.ownKeys(globalThis));
      return require(file);
    }
  }
  return import(href);
}

async function load() {
  if (target.kind === 'standby') await adopted();
  switch (target.kind) {
    case 'eval':
      return runScript(target.code, '[worker eval]');
    case 'blob':
      return runScript(await target.blob.text(), target.url);
    default:
      return loadUrl(target.href);
  }
}

// A creator that asked to read the worker's stdout or stderr itself (new Worker(..., {
// stdout: true })) keeps that stream; everything else goes to the log sink.
const output = captureOutput((stream, text) => post({ type: 'output', stream, text }), streams);
process.on('uncaughtExceptionMonitor', reportDeath);
serveBlobUrls();
watchParentPort();
if (recyclable) surviveReportedCrash();
// A script that fails to load dies like any other: its error, thrown uncaught, is the
// thread's last word.
function start() {
  load().catch((error) => process.nextTick(() => {
    throw error;
  }));
}
start();
