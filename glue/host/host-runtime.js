// What the host worker does once its instance exists: run the calls and jobs main sends,
// one at a time, in arrival order, and report each one's result, error or crash.
//
// host.js sets the worker up (supervision, output capture, the instance) and hands this
// class what it made; everything the class touches comes through its constructor, so a
// test can run it without Emscripten: a plain object of functions as the instance, a
// function that records messages as `post`, and a real call slot and cancel ring.
//
// Order: calls and jobs run one at a time, in arrival order, including across a job's own
// awaits (main relies on "the oldest unanswered is the one running"). The call slot is
// read before any message is queued, so a call written there before a later message runs
// first, whichever wake-up arrives first (call-slot.js). The call or job running is marked
// in the slot, and the mark is left when the instance dies in it, so main fails that call
// and only it.
//
// Usable: false once a fault of this thread (or a thread's death seen while waiting) made
// the instance unusable. Main terminates the worker on the crash it is told of; nothing
// more runs here meanwhile, and nothing more is answered.
import { LOG_LEVELS, isMainMessage, toMain } from '../shared/protocol.js';
import { createRequire } from 'node:module';

const { classifyFault, describeFault, isFault } = createRequire(import.meta.url)('../shared/fault-kind.cjs');

// Names that must never be dispatched even if a module happened to list them.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype', 'then']);

/** An error as it crosses to main: { name, message, code, stack }. */
export function errorPayload(error) {
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
 * may be corrupt, so the host ends. Also what host.js sends for an error nobody caught.
 */
export function crashReport(error) {
  const kind = classifyFault(error);
  return toMain.crash({ thread: -1, kind: kind === 'unknown' && isFault(error) ? 'trap' : kind,
    message: describeFault(error), stack: String(error?.stack ?? '') });
}

export class HostRuntime {
  #instance;
  #memory;
  #exportNames;
  #post;
  #slot;
  #cancels;
  #exit;
  #usable = true;
  // pthread_create refused past the limit during the call being run: { live, limit }.
  #threadLimitHit = null;
  // Job modules by URL, each imported once.
  #jobs = new Map();
  // The chain calls and jobs run on, and how many are on it.
  #serially = Promise.resolve();
  #queued = 0;
  // Ids of calls taken from the slot and not yet answered.
  #slotCalls = new Set();
  #slotWatched = false;
  // The last call came through the slot: main is calling one at a time, and the next call
  // will come that way too.
  #lastFromSlot = false;

  /**
   * @param {object} o
   * @param {object|null} o.instance the Emscripten module; null in a host of jobs only
   * @param {WebAssembly.Memory|null} o.memory the instance's memory, if known (results
   *   that view it are copied out)
   * @param {Iterable<string>} o.exportNames what main may call (patched glue's list)
   * @param {(message: object) => void} o.post sends to main; throws like postMessage
   *   (DataCloneError) for what cannot be cloned
   * @param {import('../shared/call-slot.js').CallSlotServer} o.slot
   * @param {import('../shared/cancel-ring.js').CancelRingReader} o.cancelRing
   * @param {(code: number) => void} [o.exit] ends the worker (after 'terminate')
   */
  constructor({ instance = null, memory = null, exportNames = [], post, slot, cancelRing,
    exit = (code) => process.exit(code) }) {
    this.#instance = instance;
    this.#memory = memory;
    this.#exportNames = new Set(exportNames);
    this.#post = post;
    this.#slot = slot;
    this.#cancels = cancelRing;
    this.#exit = exit;
  }

  /** False once a fault made the instance unusable (see the header). */
  get usable() {
    return this.#usable;
  }

  /** Starts taking calls from the slot: once main was told the host is ready. */
  serve() {
    this.#idle();
  }

  /** A thread was refused past the limit: the running call's error says why (if it fails). */
  threadLimitHit(live, limit) {
    this.#threadLimitHit = { live, limit };
  }

  /** A message from main. */
  receive(message) {
    if (!isMainMessage(message)) {
      this.#post(toMain.logHost({ level: LOG_LEVELS.indexOf('warn'), thread: -1, pthread: 0, time: Date.now(),
        message: `wasm-threadpool host: ignored a malformed message from main: ${JSON.stringify(message)?.slice(0, 200)}` }));
      return;
    }
    switch (message.type) {
      case 'call':
        this.#takeFromSlot(this.#slot.take());
        this.#enqueue(message.id, () => this.#runCall(message));
        break;
      case 'job':
        this.#takeFromSlot(this.#slot.take());
        this.#enqueue(message.id, () => this.#runJob(message));
        break;
      case 'terminate':
        try {
          this.#instance?.exitThreadPool?.(); // only modules with the wasmpool runtime have a pool to join
        } finally {
          this.#exit(0);
        }
        break;
      default:
        break;
    }
  }

  #enqueue(id, run) {
    this.#queued++;
    this.#serially = this.#serially.then(() => {
      if (!this.#usable) return undefined;
      this.#slot.markRunning(id);
      return run();
    }).finally(() => {
      // A call that killed the instance stays marked: main fails it, and only it.
      if (this.#usable) this.#slot.markRunning(0);
      if (--this.#queued === 0) this.#idle();
    });
  }

  #takeFromSlot(call) {
    if (!call) return false;
    this.#slotCalls.add(call.id);
    this.#lastFromSlot = true;
    this.#enqueue(call.id, () => this.#runCall(call));
    return true;
  }

  // Nothing queued. After a call that came through the slot, look for the next one for a
  // bounded moment (it usually follows within microseconds); then go back to the event loop
  // with a wake-up armed on the slot. Calls that come by message (several in flight) need no
  // spin: their messages are already queued.
  #idle() {
    if (!this.#usable) return;
    const spin = this.#lastFromSlot;
    this.#lastFromSlot = false;
    if (spin && this.#takeFromSlot(this.#slot.spinForCall())) return;
    if (this.#slotWatched) return;
    this.#slotWatched = true;
    this.#slot.changed().then(() => {
      this.#slotWatched = false;
      if (!this.#takeFromSlot(this.#slot.take()) && this.#queued === 0) this.#idle();
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

  // Errors always go by message; a call that came through the slot is told so there.
  #postError(id, error) {
    this.#post(toMain.error(id, error));
    if (this.#slotCalls.delete(id)) this.#slot.answeredByMessage(id);
  }

  #postResult(id, what, value) {
    const detached = this.#detachFromHeap(value);
    const viaSlot = this.#slotCalls.delete(id);
    if (viaSlot && this.#slot.answer(id, detached)) return;
    try {
      this.#post(toMain.result(id, detached));
    } catch (error) {
      this.#post(toMain.error(id, { name: 'DataCloneError', code: 'ERR_WASM_RESULT_NOT_CLONEABLE',
        message: `the result of ${what} cannot be sent back to the main thread: ${error.message}` }));
    }
    if (viaSlot) this.#slot.answeredByMessage(id);
  }

  // Typed arrays that view the wasm memory would be shared, not copied, by postMessage:
  // main would see the host's heap change (or be freed) under it. Copy them out.
  #detachFromHeap(value) {
    const memory = this.#memory;
    if (memory && ArrayBuffer.isView(value) && value.buffer === memory.buffer) return value.slice();
    return value;
  }
}
