// Every worker created in the host, by anyone, is a supervised worker.
//
// The host replaces worker_threads.Worker before any glue or job loads (superviseWorkers),
// so code it did not write — a package's Closure-compiled glue, a second module a job
// instantiates, any Emscripten generation — gets a SupervisedWorker when it asks for a
// Worker. Each one:
//   - has its own MessageChannel to Node's main thread, made here, synchronously, as the
//     worker is constructed: its far end travels to the worker inside workerData, the near
//     end to main over the host's parent port. Neither needs this thread's event loop
//     afterwards, so a thread's last words reach main while the host is blocked in a call;
//   - starts on worker-bootstrap.cjs, which installs the thread's safety (its last word
//     before it dies, its output to the log sink) and then loads the script that was asked
//     for, with the workerData that was asked for;
//   - takes a place in the host's thread budget (threads + maxExtraThreads): past it the
//     constructor throws ERR_WASM_THREAD_LIMIT, which the glue's pthread_create turns into
//     a failure of the call that wanted the thread, instead of growing without bound.
//
// Recycling (the host's warm restart): recycle(worker) strips the listeners its creator
// put on it, and asks its bootstrap to forget the script it runs once its thread is back
// on the event loop; a worker that answers in time becomes a standby again, with a new
// channel to main, for the next generation's requests to adopt. One that does not is
// terminated. When the host keeps its instance (a reset in place), a worker its bootstrap
// finds safe to keep (a pool thread's or an idle one, not crashed or only by a wasm trap)
// is kept as it is instead: a new channel, its creator's listeners given back.
//
// What the caller sees is an ordinary worker_threads.Worker (postMessage, events,
// terminate, ref/unref are the real ones): the glue's own protocol with its thread is
// untouched. Scripts Node itself cannot start in a worker are accepted too where the
// intent is plain: a blob: URL (what browser-first builds hand to `new Worker`) is run from
// the Blob's text.
'use strict';

const workerThreads = require('node:worker_threads');
const { syncBuiltinESMExports } = require('node:module');
const { resolveObjectURL } = require('node:buffer');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { BOOTSTRAP_KEY } = require('../shared/global-names.cjs');

const BOOTSTRAP_URL = pathToFileURL(path.join(__dirname, '../pthread/worker-bootstrap.cjs'));
// Channel numbers of supervised workers, apart from the pthread hooks' own (0, 1, ...),
// which are per instance: only a label in log entries and crash notices.
const FIRST_CHANNEL = 1 << 20;
// The filename of a standby worker (installed.standby()).
const STANDBY = Symbol('standby');

let installed = null;

/**
 * Replaces worker_threads.Worker (for CommonJS `require` and, through
 * syncBuiltinESMExports, for ES module imports made from now on) with SupervisedWorker.
 * Once per thread; returns the live-worker counter.
 * @param {object} o
 * @param {number} o.limit live supervised workers allowed at once (the thread budget)
 * @param {(port: MessagePort, channel: number) => void} o.announce hands main the near end
 * @param {(live: number, limit: number) => void} o.onLimit a worker was refused
 */
function superviseWorkers({ limit, announce, onLimit }) {
  if (installed) return installed;
  const Original = workerThreads.Worker;
  let live = 0;
  let nextChannel = FIRST_CHANNEL;
  // Every worker alive, and the listeners this file put on each (kept when recycling).
  const all = new Set();
  const own = new WeakMap(); // worker -> Set of listeners
  function listen(worker, event, listener, once = false) {
    if (!own.has(worker)) own.set(worker, new Set());
    own.get(worker).add(listener);
    worker[once ? 'once' : 'on'](event, listener);
  }
  function unlisten(worker, event, listener) {
    own.get(worker)?.delete(listener);
    worker.off(event, listener);
  }
  // Whether workers made from now on may be recycled (host.cjs: patched glue).
  let recyclable = false;

  // Workers started ahead of need (standby()): booted on the bootstrap, waiting to be told
  // what to run. The first requests that ask for nothing a running worker cannot take on
  // (adoptable) are given one of them instead of a new worker.
  const standbys = [];
  function dropStandby() {
    const at = standbys.indexOf(this);
    if (at >= 0) standbys.splice(at, 1);
  }

  class SupervisedWorker extends Original {
    constructor(filename, options = {}) {
      if (filename !== STANDBY && standbys.length > 0 && adoptable(options ?? {})) {
        const target = describeTarget(filename, options ?? {});
        const { workerData, transferList = [] } = options ?? {};
        const standby = standbys.shift();
        unlisten(standby, 'error', dropStandby);
        unlisten(standby, 'exit', dropStandby);
        // The first message the standby reads, before the script it names is loaded.
        standby.postMessage({ [BOOTSTRAP_KEY]: { target, workerData } }, transferList);
        return standby;
      }
      if (live >= limit) {
        onLimit(live, limit);
        throw Object.assign(new Error(`the pool host refused to start a thread: ${live} threads are alive and the ` +
          `limit is ${limit} (options.threads plus options.maxExtraThreads); raise maxExtraThreads`),
        { code: 'ERR_WASM_THREAD_LIMIT' });
      }
      const target = filename === STANDBY ? { kind: 'standby' } : describeTarget(filename, options ?? {});
      const channel = nextChannel++;
      const { port1, port2 } = new MessageChannel();
      const { eval: _eval, workerData, transferList = [], ...rest } = options ?? {};
      super(BOOTSTRAP_URL, {
        ...rest,
        workerData: { [BOOTSTRAP_KEY]: { target, workerData, port: port2, channel, recyclable,
          streams: { stdout: rest.stdout !== true, stderr: rest.stderr !== true } } },
        transferList: [...transferList, port2],
      });
      live++;
      all.add(this);
      listen(this, 'exit', () => {
        live--;
        all.delete(this);
      }, true);
      announce(port1, channel);
    }
  }
  Object.defineProperty(SupervisedWorker, 'name', { value: 'Worker' });

  // A standby that dies before it is adopted is dropped (its last word went to main); once
  // adopted, its errors and exit are its adopter's.
  function keepAsStandby(worker) {
    listen(worker, 'error', dropStandby);
    listen(worker, 'exit', dropStandby);
    standbys.push(worker);
  }

  workerThreads.Worker = SupervisedWorker;
  syncBuiltinESMExports();
  installed = {
    get live() { return live; },
    limit,
    Original,
    /**
     * Starts `count` workers now, to be handed to the first adoptable requests: their
     * Node boot and the bootstrap's run while this thread does something else (loads the
     * glue). They count in the budget from now on.
     */
    standby(count) {
      for (let i = 0; i < count && live < limit; i++) {
        const worker = new SupervisedWorker(STANDBY);
        keepAsStandby(worker);
      }
    },
    /** Workers made from now on may be recycled (their bootstrap survives a reported crash). */
    set recyclable(value) {
      recyclable = value;
    },
    /** Every live worker that is not a standby. */
    workers() {
      return [...all].filter((worker) => !standbys.includes(worker));
    },
    /**
     * Asks `worker` to forget its script and become a standby (see the header), with a new
     * channel to main (announced now). Resolves to 'recycled' once it did; to null if it
     * could not within `timeoutMs` (its thread never came back to its event loop) or cannot
     * at all (its script was an ES module): it is then terminated, and gone when this
     * resolves. `keep` (the host keeps its instance): a worker its bootstrap finds safe to
     * keep keeps its script, only takes the new channel, gets its creator's listeners back,
     * and this resolves to 'kept'. The listeners are off the worker meanwhile, so what the
     * dead generation still had in flight from it reaches nobody.
     */
    recycle(worker, timeoutMs, keep = false) {
      const creators = [];
      for (const event of worker.eventNames()) {
        for (const listener of worker.listeners(event)) {
          if (own.get(worker)?.has(listener)) continue;
          worker.off(event, listener);
          creators.push([event, listener]);
        }
      }
      const channel = nextChannel++;
      const { port1, port2 } = new MessageChannel();
      worker.postMessage({ [BOOTSTRAP_KEY]: { recycle: { port: port2, channel, keep } } }, [port2]);
      return new Promise((resolve) => {
        const done = (outcome) => {
          clearTimeout(timer);
          unlisten(worker, 'message', answer);
          unlisten(worker, 'exit', gone);
          if (outcome === 'kept') {
            announce(port1, channel);
            for (const [event, listener] of creators) worker.on(event, listener);
            resolve(outcome);
          } else if (outcome === 'recycled') {
            announce(port1, channel);
            keepAsStandby(worker);
            resolve(outcome);
          } else {
            // Gone before this resolves: its place in the thread budget is free again.
            port1.close();
            worker.terminate().then(() => resolve(null), () => resolve(null));
          }
        };
        const answer = (message) => {
          const word = message?.[BOOTSTRAP_KEY];
          if (word === 'recycled' || word === 'kept' || word === 'not-recyclable') done(word === 'not-recyclable' ? null : word);
        };
        const gone = () => done(null);
        const timer = setTimeout(() => done(null), timeoutMs);
        listen(worker, 'message', answer);
        listen(worker, 'exit', gone, true);
      });
    },
    /** Ends the standbys nobody adopted, which frees their places in the budget. */
    releaseStandbys() {
      for (const worker of standbys.splice(0)) worker.terminate();
    },
  };
  return installed;
}

// A request a standby worker can take: nothing in it is fixed when a worker starts
// (resourceLimits, env, execArgv, argv, stdio, ...) except workerData and its transferList,
// which the adoption carries, `name`, a label for debuggers, and `type`, which Node ignores
// (Emscripten 3.1.58+ glue asks for { type: 'module', workerData: 'em-pthread', name }).
const ADOPTABLE = new Set(['workerData', 'transferList', 'eval', 'name', 'type']);

function adoptable(options) {
  return typeof options === 'object' && Object.keys(options).every((key) => ADOPTABLE.has(key));
}

// What the bootstrap must load, from what was given to `new Worker` (Node's own rules:
// an absolute path or one starting with ./ or ../, a file: or data: URL, or code with
// `eval: true`), plus blob: URLs. A bad filename throws here, synchronously, as Node's
// constructor would.
function describeTarget(filename, options) {
  if (options.eval) return { kind: 'eval', code: String(filename) };
  if (filename instanceof URL) filename = filename.href;
  if (typeof filename !== 'string') {
    throw Object.assign(new TypeError(`The "filename" argument must be a string or a URL, got ${typeof filename}`),
      { code: 'ERR_INVALID_ARG_TYPE' });
  }
  if (filename.startsWith('blob:')) {
    const blob = resolveObjectURL(filename);
    if (!blob) throw Object.assign(new Error(`no Blob is registered for ${filename}`), { code: 'ERR_WORKER_PATH' });
    return { kind: 'blob', blob, url: filename };
  }
  if (/^(file|data):/.test(filename)) return { kind: 'url', href: filename };
  if (path.isAbsolute(filename) || /^\.\.?[\\/]/.test(filename)) {
    return { kind: 'url', href: pathToFileURL(path.resolve(filename)).href };
  }
  throw Object.assign(new TypeError('The worker script or module filename must be an absolute path or a relative ' +
    `path starting with './' or '../'. Received "${filename}"`), { code: 'ERR_WORKER_PATH' });
}

module.exports = { superviseWorkers };
