// What the host worker does once its instance exists: run the calls and jobs main sends,
// one at a time, in arrival order, and report each one's result, error or crash.
//
// host.cjs sets the worker up (supervision, output capture, the instance) and hands this
// class what it made; everything the class touches comes through its constructor, so a
// test can run it without Emscripten: a plain object of functions as the instance, a
// function that records messages as `post`, and real call rings and a cancel ring.
//
// Order: calls and jobs run one at a time, in the order main wrote them into the call ring
// (call-ring.cjs), including across a job's own awaits (main relies on "the oldest
// unanswered is the one running"); one that travelled by message has its place in the
// ring. The call or job running is marked in the ring's header, and the mark is left when
// the instance dies in it, so main fails that call and only it.
//
// Usable: false once a fault of this thread (or a thread's death seen while waiting) made
// the instance unusable. Main terminates the worker on the crash it is told of, or has
// host.cjs renew it (the instance reset or made again, and a new HostRuntime); nothing more
// runs here meanwhile, and nothing more is answered.
'use strict';

const { LOG_LEVELS, isMainMessage, toMain } = require('../shared/protocol.cjs');
const { classifyFault, describeFault, isFault } = require('../shared/fault-kind.cjs');

// How long after its last request the host waits blocked (see #blockThenSleep), and in
// what slices.
const BLOCK_WINDOW_MS = 20;
const BLOCK_SLICE_MS = 1;

// Names that must never be dispatched even if a module happened to list them.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype', 'then']);

/** An error as it crosses to main: { name, message, code, stack }. */
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

/**
 * The crash message for a fault of the host thread itself (fault-kind.cjs): the instance
 * may be corrupt, so it is not used again. Also what host.cjs sends for an error nobody
 * caught, with `exiting`: the worker ends right after it (no warm restart in it).
 */
function crashReport(error, { exiting = false } = {}) {
  const kind = classifyFault(error);
  return toMain.crash({ thread: -1, kind: kind === 'unknown' && isFault(error) ? 'trap' : kind,
    message: describeFault(error), stack: String(error?.stack ?? ''), exiting });
}

class HostRuntime {
  #instance;
  #memory;
  #exportNames;
  #post;
  #postAnswer;
  #ring;
  #nextPortRequest;
  #cancels;
  #exit;
  #usable = true;
  // pthread_create refused past the limit during the call being run: { live, limit }.
  #threadLimitHit = null;
  // Job modules by URL, each imported once.
  #jobs = new Map();
  // Requests taken from the ring, not yet run: { id, run }. run() returns a Promise only
  // for a job.
  #queue = [];
  #running = false;
  #sleeping = false;
  #sleeps = 0; // sleeps begun so far: a sleep's end counts only if it is still the latest

  /**
   * @param {object} o
   * @param {object|null} o.instance the Emscripten module; null in a host of jobs only
   * @param {WebAssembly.Memory|null} o.memory the instance's memory, if known (results
   *   that view it are copied out)
   * @param {Iterable<string>} o.exportNames what main may call (patched glue's list)
   * @param {(message: object) => void} o.post sends a control message (crash, log) to main
   * @param {(message: object) => void} o.postAnswer sends an answer that is not in the ring
   *   (an error, a large result) on the channel main drains before it reads the ring;
   *   throws like postMessage (DataCloneError) for what cannot be cloned
   * @param {import('../shared/call-ring.cjs').CallRingServer} o.ring
   * @param {() => object|undefined} o.nextPortRequest the request port's next message
   *   (receiveMessageOnPort): what a BY_PORT entry stands for
   * @param {import('../shared/cancel-ring.cjs').CancelRingReader} o.cancelRing
   * @param {(code: number) => void} [o.exit] ends the worker (after 'terminate')
   */
  constructor({ instance = null, memory = null, exportNames = [], post, postAnswer = post, ring, nextPortRequest,
    cancelRing, exit = (code) => process.exit(code) }) {
    this.#instance = instance;
    this.#memory = memory;
    this.#exportNames = new Set(exportNames);
    this.#post = post;
    this.#postAnswer = postAnswer;
    this.#ring = ring;
    this.#nextPortRequest = nextPortRequest;
    this.#cancels = cancelRing;
    this.#exit = exit;
  }

  /** False once a fault made the instance unusable (see the header). */
  get usable() {
    return this.#usable;
  }

  /** The instance is being replaced (host.cjs, renew): nothing more runs or is answered here. */
  retire() {
    this.#usable = false;
    this.#ring.release();
  }

  /** Starts taking requests from the ring: once main was told the host is ready. */
  serve() {
    this.#pump();
  }

  /**
   * At each heartbeat, and when main says requests sat untaken (toHost.poll): a request
   * waiting while this runtime sleeps on its event loop (main's notify lost on the way)
   * is taken now rather than never, and the wait it slept in is
   * forgotten: its next sleep arms a new one. Kept as its next sleep, a wait whose wake-up
   * was lost would make every later request wait for a heartbeat.
   */
  poll() {
    if (this.#usable && this.#sleeping && !this.#running && this.#ring.requestWaiting) {
      this.#sleeping = false;
      this.#sleeps++;
      this.#pump();
    }
  }

  /** A thread was refused past the limit: the running call's error says why (if it fails). */
  threadLimitHit(live, limit) {
    this.#threadLimitHit = { live, limit };
  }

  /** A control message from main (calls and jobs come through the ring). */
  receive(message) {
    if (!isMainMessage(message) || message.type !== 'terminate') {
      this.#warnMalformed(message);
      return;
    }
    try {
      this.#instance?.exitThreadPool?.(); // only modules with the wasmpool runtime have a pool to join
    } finally {
      this.#exit(0);
    }
  }

  #warnMalformed(message) {
    this.#post(toMain.logHost({ level: LOG_LEVELS.indexOf('warn'), thread: -1, pthread: 0, time: Date.now(),
      message: `wasm-threadpool host: ignored a malformed message from main: ${JSON.stringify(message)?.slice(0, 200)}` }));
  }

  // Moves every request in the ring to the queue, in order. A BY_PORT entry stands for the
  // request port's next message, which main posted before it wrote the entry.
  #takeRequests() {
    for (let request = this.#ring.take(); request; request = this.#ring.take()) {
      const message = request.byPort ? this.#nextPortRequest() : request;
      if (request.byPort && (!isMainMessage(message) || (message.type !== 'call' && message.type !== 'job') ||
          message.id !== request.id)) {
        this.#warnMalformed(message);
        continue;
      }
      this.#queue.push({ id: request.id, run: message.type === 'job' ? () => this.#runJob(message) : () => this.#runCall(message) });
    }
  }

  #pump() {
    if (!this.#usable) return;
    this.#takeRequests();
    if (!this.#running) this.#runQueue();
  }

  // Runs the queue, one request at a time, in order; a job's awaits hold the requests
  // behind it. When the queue is empty it looks in the ring for a bounded moment (the next
  // call of a caller making one after another usually follows within microseconds), then
  // sleeps until main writes more.
  async #runQueue() {
    this.#running = true;
    try {
      for (;;) {
        while (this.#queue.length > 0) {
          const { id, run } = this.#queue.shift();
          this.#ring.markRunning(id);
          const done = run();
          if (done) await done;
          // A request that killed the instance stays marked: main fails it, and only it.
          if (!this.#usable) return;
          this.#ring.markRunning(0);
        }
        this.#takeRequests();
        if (this.#queue.length > 0) continue;
        if (!this.#ring.spinForRequest()) break;
        this.#takeRequests();
      }
    } finally {
      this.#running = false;
    }
    this.#blockThenSleep(performance.now());
  }

  // Nothing to run. For BLOCK_WINDOW_MS after the last request the host waits blocked, in
  // slices of BLOCK_SLICE_MS with an event-loop turn between them (heartbeats and control
  // messages go on, at most a slice late): a blocked thread wakes at main's notify
  // directly, where one sleeping on its event loop costs both sides an event-loop turn
  // (pipelined calls leave such gaps between bursts all the time). After the window it
  // sleeps on its event loop, costing nothing while idle.
  #blockThenSleep(lastRequest) {
    if (!this.#usable) return;
    if (performance.now() - lastRequest > BLOCK_WINDOW_MS) {
      this.#sleep();
      return;
    }
    if (this.#ring.blockForRequest(BLOCK_SLICE_MS)) this.#pump();
    else setImmediate(() => this.#blockThenSleep(lastRequest));
  }

  #sleep() {
    if (!this.#usable || this.#sleeping) return;
    this.#sleeping = true;
    const sleep = ++this.#sleeps;
    this.#ring.requested().then(() => {
      if (sleep !== this.#sleeps) return; // forgotten by poll(), which took its requests
      this.#sleeping = false;
      this.#pump();
    });
  }

  #runCall({ id, name, args }) {
    if (this.#cancels.wasCancelled(id)) return; // nobody waits for it any more
    this.#threadLimitHit = null;
    const instance = this.#instance;
    if (typeof name !== 'string' || FORBIDDEN.has(name) || !this.#exportNames.has(name) ||
        typeof instance?.[name] !== 'function') {
      this.#postError(id, { name: 'TypeError', code: 'ERR_WASM_UNKNOWN_EXPORT',
        message: `${JSON.stringify(name)} is not an export of this module` });
      return;
    }
    let value;
    try {
      value = instance[name](...args);
    } catch (error) {
      this.#reportThrown(id, `${name}()`, error);
      return;
    }
    this.#postResult(id, `${name}()`, value);
  }

  // An in-host job (manager.run()): a JS module whose default export runs here, next to the
  // instance, so it can call exports synchronously, keep pointers and use embind classes.
  // Only its input and its result cross.
  async #runJob({ id, url, input }) {
    if (this.#cancels.wasCancelled(id)) return;
    this.#threadLimitHit = null;
    let value;
    try {
      const job = await this.#loadJob(url);
      value = await job(input, { module: this.#instance, memory: this.#memory });
    } catch (error) {
      this.#reportThrown(id, `the job ${url}`, error);
      return;
    }
    this.#postResult(id, `the job ${url}`, value);
  }

  async #loadJob(url) {
    let job = this.#jobs.get(url);
    if (!job) {
      const loaded = await import(url);
      job = loaded.default;
      if (typeof job !== 'function') {
        throw Object.assign(new TypeError(`${url} has no default export function (input, { module, memory }) => result`),
          { code: 'ERR_WASM_JOB_NOT_A_FUNCTION' });
      }
      this.#jobs.set(url, job);
    }
    return job;
  }

  // What an export or a job threw: a C++ exception or a JS error rejects that call only; a
  // fault of this thread, or a thread's death seen while waiting, ends the host.
  #reportThrown(id, what, error) {
    if (error === 'unwind') {
      // Emscripten's crash flag: a pool thread died while this thread waited for it, and
      // the wait was interrupted. The thread's own notice (port) and the crash record carry
      // the details; tell main to expect them. The instance is no longer usable.
      this.#post(toMain.crash({ thread: null, kind: 'unknown', deferred: true,
        message: `a thread died while the host waited in ${what}` }));
      this.#usable = false;
      return;
    }
    if (typeof error === 'number') {
      this.#postError(id, this.#withThreadLimit({ ...this.#describeCppException(error), code: 'ERR_WASM_CPP_EXCEPTION' }));
      return;
    }
    if (isFault(error)) {
      this.#post(crashReport(error));
      // Nothing more runs here: main terminates this worker.
      this.#usable = false;
      return;
    }
    this.#postError(id, this.#withThreadLimit(errorPayload(error)));
  }

  // A thrown number is a C++ exception escaping the export (Emscripten's JS-based
  // exceptions throw the exception object's address). The runtime can read its what().
  #describeCppException(pointer) {
    try {
      if (typeof this.#instance?.wasmpoolDescribeException === 'function') {
        const text = this.#instance.wasmpoolDescribeException(pointer);
        const split = text.indexOf('\n');
        if (split > 0) return { name: text.slice(0, split), message: text.slice(split + 1) };
        return { name: 'C++ exception', message: text };
      }
    } catch {
      // fall through to the generic description
    }
    return { name: 'C++ exception', message: `uncaught C++ exception at 0x${pointer.toString(16)}` };
  }

  // The call's error says what to change when a thread was refused during it.
  #withThreadLimit(error) {
    if (!this.#threadLimitHit) return error;
    const { live, limit } = this.#threadLimitHit;
    return {
      ...error,
      code: 'ERR_WASM_THREAD_LIMIT',
      message: `${error.message} (the host refused to start a thread: ${live} threads were alive and the ` +
        `limit is ${limit}, the pool's threads plus options.maxExtraThreads; raise maxExtraThreads)`,
    };
  }

  // Errors always go by message.
  #postError(id, error) {
    this.#postAnswer(toMain.error(id, error));
  }

  #postResult(id, what, value) {
    const detached = this.#detachFromHeap(value);
    if (this.#ring.answer(id, detached)) return;
    try {
      this.#postAnswer(toMain.result(id, detached));
    } catch (error) {
      this.#postAnswer(toMain.error(id, { name: 'DataCloneError', code: 'ERR_WASM_RESULT_NOT_CLONEABLE',
        message: `the result of ${what} cannot be sent back to the main thread: ${error.message}` }));
    }
  }

  // Typed arrays that view the wasm memory would be shared, not copied, by postMessage:
  // main would see the host's heap change (or be freed) under it. Copy them out.
  #detachFromHeap(value) {
    const memory = this.#memory;
    if (memory && ArrayBuffer.isView(value) && value.buffer === memory.buffer) return value.slice();
    return value;
  }
}

module.exports = { errorPayload, crashReport, HostRuntime };
