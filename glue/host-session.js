// The main-thread side of one host's life: the worker, the shared memory made for it, one
// MessageChannel per pool thread, the calls in flight, and the watchdog. A session ends
// exactly once: stopped on purpose (idle, shutdown) or failed (crash, hang, host exit).
// Failing rejects every call in flight with the same error, then terminates the worker,
// which takes the nested pthread workers with it. The manager replaces a failed session
// with a new one on the next call.
import { MessageChannel, Worker } from 'node:worker_threads';
import { readCrashRecord } from './crash-record.js';
import { WasmHangError, WasmHostStartError, WasmPanicError, WasmCallError } from './errors.js';
import { Watchdog } from './watchdog.js';
import { LOG_LEVELS } from './protocol.js';

const HOST_URL = new URL('./host.js', import.meta.url);
const GRACEFUL_EXIT_MS = 2000;
const PROGRESS_WORD = 0;
// How long a host-side "a pool thread died" waits for that thread's own, detailed notice.
const DEFERRED_CRASH_MS = 50;
// Ids of abandoned calls still queued in the host, in a ring in shared memory: the host is
// busy with an earlier call and cannot read messages, but it checks the ring before each.
const CANCEL_RING_SIZE = 256; // RuntimeHooks::progress, see src/wasmpool/runtime_hooks.hpp

export class HostSession {
  /** 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed' */
  state = 'starting';
  /** The error that ended the session, when it failed. */
  failure = null;
  memory;
  threads;
  startMs = undefined;
  #worker;
  #ports = [];
  #pending = new Map();
  #nextId = 0;
  #runtime = null;
  #watchdog;
  #events;
  #ready;
  #exited;

  /**
   * @param {object} o
   * @param {{module: WebAssembly.Module, memoryLimits: {initial:number, maximum?:number}, glueUrl: string}} o.loaded
   * @param {number} o.threads
   * @param {number} o.heartbeatIntervalMs
   * @param {number} o.heartbeatTimeoutMs
   * @param {{log: Function, output: Function, failed: Function, settled: Function}} o.events
   */
  constructor({ loaded, threads, heartbeatIntervalMs, heartbeatTimeoutMs, crashDetection = 'fast', background = false, events }) {
    this.threads = threads;
    this.#failFast = crashDetection === 'fast';
    this.#events = events;
    this.memory = new WebAssembly.Memory({
      initial: loaded.memoryLimits.initial,
      maximum: loaded.memoryLimits.maximum,
      shared: true,
    });
    this.#cancelRing = new Int32Array(new SharedArrayBuffer(4 * (1 + CANCEL_RING_SIZE)));
    const hostEnds = [];
    for (let channel = 0; channel < threads; channel++) {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (message) => this.#onThreadMessage(channel, message));
      port1.unref();
      this.#ports.push(port1);
      hostEnds.push(port2);
    }
    this.#worker = new Worker(HOST_URL, {
      workerData: {
        glueUrl: loaded.glueUrl,
        module: loaded.module,
        memory: this.memory,
        threads,
        channels: hostEnds,
        heartbeatIntervalMs,
        failFast: crashDetection === 'fast',
        cancelRing: this.#cancelRing,
      },
      transferList: hostEnds,
      // Flags only valid for the main script (e.g. --input-type with -e) break workers.
      execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')),
      // The host's own console goes through main's streams, but module output and logs
      // come as messages so they can be routed to the user's log sink.
      stdout: false,
      stderr: false,
    });
    // A host started in the background (a replacement after a crash) must not keep the
    // process alive; hold() refs it as soon as someone waits for it.
    if (background) this.#worker.unref();
    this.#worker.on('message', (message) => this.#onHostMessage(message));
    this.#worker.on('error', (error) => this.#onHostError(error));
    this.#exited = new Promise((resolve) => this.#worker.once('exit', (code) => {
      this.#onHostExit(code);
      resolve(code);
    }));
    this.#watchdog = new Watchdog({
      timeoutMs: heartbeatTimeoutMs,
      intervalMs: Math.max(5, Math.min(heartbeatIntervalMs, heartbeatTimeoutMs / 4)),
      readProgress: () => this.#readProgress(),
      isBusy: () => this.#pending.size > 0 || this.state === 'starting',
      onHang: (silentMs) => this.fail(new WasmHangError(silentMs, heartbeatTimeoutMs)),
    });
    this.#watchdog.start();
    this.#ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // A start failure also rejects ready(); nobody may be awaiting it yet.
    this.#ready.catch(() => {});
  }

  #readyResolve;
  #readyReject;
  #deferredCrash = null;
  #cancelRing;
  // 'heartbeat-only' ignores crash notices and the host's death and leaves detection to
  // the watchdog: the original design, kept so benchmarks can measure what fail-fast
  // detection buys.
  #failFast = true;

  /** Resolves once the pool is up; rejects with the error that ended the session. */
  ready() {
    return this.#ready;
  }

  /** Keeps the process alive until the host is ready: someone is waiting for it. */
  hold() {
    if (this.state === 'starting') this.#worker.ref();
  }

  /** Whether the host ever became ready (a start failure is not a crash worth a restart). */
  get wasReady() {
    return this.startMs !== undefined;
  }

  get pendingCount() {
    return this.#pending.size;
  }

  /**
   * Forwards one export call. Throws a TypeError synchronously, with nothing sent, when an
   * argument cannot be structured-cloned.
   */
  call(name, args, owner) {
    if (this.state !== 'ready') {
      return Promise.reject(this.failure ?? new Error(`the pool host is ${this.state}`));
    }
    const id = ++this.#nextId;
    try {
      this.#worker.postMessage({ type: 'call', id, name, args });
    } catch (error) {
      throw cloneError(name, args, error);
    }
    if (this.#pending.size === 0) {
      this.#worker.ref();
      this.#watchdog.alive();
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, name, args, owner, sentAt: performance.now() });
    });
  }

  /**
   * Rejects (and forgets) the calls `owner` still waits for. Returns whether one of them
   * is the call the host is running now: the host answers in order, so the oldest
   * unanswered call is the running one. That call cannot be interrupted; only replacing
   * the host stops it (see detachQueued()).
   */
  abandon(owner, error) {
    const oldest = this.#pending.values().next().value;
    const running = oldest !== undefined && oldest.owner === owner;
    for (const [id, call] of this.#pending) {
      if (call.owner === owner) {
        this.#pending.delete(id);
        if (call !== oldest) this.#cancelQueued(id);
        call.reject(error);
      }
    }
    this.#afterSettle();
    return running;
  }

  #cancelQueued(id) {
    const written = Atomics.load(this.#cancelRing, 0);
    Atomics.store(this.#cancelRing, 1 + (written % CANCEL_RING_SIZE), id);
    Atomics.store(this.#cancelRing, 0, written + 1);
  }

  /**
   * Ends the session to stop the call it is running, handing back the calls queued behind
   * it: they never started, so they can be sent to a fresh host unchanged.
   */
  detachQueued() {
    const queued = [...this.#pending.values()];
    this.#pending.clear();
    this.state = 'stopped';
    this.#watchdog.stop();
    this.#worker.terminate();
    this.#closePorts();
    return queued;
  }

  /** A view of the host's heap: main reads and writes it directly, no copy. */
  view(Type, byteOffset, length) {
    return new Type(this.memory.buffer, byteOffset, length);
  }

  /**
   * Ends the session on purpose: exitThreadPool() in the host, then the worker exits.
   * `keepAlive` holds the process open until then (an awaited shutdown()); an idle stop
   * does not, so an idle pool never delays the process's exit.
   */
  async stop({ keepAlive = false } = {}) {
    if (this.state === 'stopped' || this.state === 'failed') return;
    const wasStarting = this.state === 'starting';
    this.state = 'stopping';
    this.#watchdog.stop();
    if (wasStarting) {
      this.#readyReject(new WasmHostStartError('the pool was shut down while it was starting'));
      await this.#worker.terminate();
    } else {
      if (keepAlive) this.#worker.ref();
      this.#worker.postMessage({ type: 'terminate' });
      const timer = setTimeout(() => this.#worker.terminate(), GRACEFUL_EXIT_MS);
      timer.unref();
      await this.#exited;
      clearTimeout(timer);
    }
    this.state = 'stopped';
    this.#closePorts();
  }

  /** Ends the session because of a fault: every call in flight rejects with `error`. */
  fail(error) {
    if (this.state === 'failed' || this.state === 'stopped') return;
    const wasStarting = this.state === 'starting';
    this.state = 'failed';
    this.failure = error;
    this.#watchdog.stop();
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    this.#worker.terminate();
    this.#closePorts();
    if (wasStarting) this.#readyReject(error);
    for (const call of calls) call.reject(error);
    this.#events.failed(this, error);
  }

  /** Waits until the worker (and its pthread workers) are gone. */
  exited() {
    return this.#exited;
  }

  #closePorts() {
    for (const port of this.#ports) port.close();
  }

  #readProgress() {
    if (!this.#runtime) return 0;
    return Atomics.load(new Int32Array(this.memory.buffer, this.#runtime.hooks, 1), PROGRESS_WORD);
  }

  #afterSettle() {
    if (this.#pending.size === 0) {
      this.#worker.unref();
      this.#events.settled(this);
    }
  }

  #settle(id, settle) {
    const call = this.#pending.get(id);
    if (!call) return; // abandoned by an aborted or timed-out execute()
    this.#pending.delete(id);
    this.#events.timing?.(performance.now() - call.sentAt);
    settle(call);
    this.#afterSettle();
  }

  #onHostMessage(message) {
    this.#watchdog.alive();
    switch (message.type) {
      case 'heartbeat':
        break;
      case 'result':
        this.#settle(message.id, (call) => call.resolve(message.value));
        break;
      case 'error':
        this.#settle(message.id, (call) => call.reject(new WasmCallError({ exportName: call.name, ...message.error })));
        break;
      case 'ready':
        this.#runtime = message.runtime;
        this.startMs = message.startMs;
        if (this.state === 'starting') {
          this.state = 'ready';
          this.#worker.unref();
          this.#readyResolve();
        }
        break;
      case 'start-failed':
        this.fail(new WasmHostStartError(`the pool host failed to start: ${message.error.message}`,
          Object.assign(new Error(message.error.message), message.error)));
        break;
      case 'crash':
        this.#crashed({ ...message, source: 'host' });
        break;
      case 'stdout':
      case 'stderr':
        this.#events.output(message.type, message.text);
        break;
      case 'log-host':
        this.#events.log(message.entry);
        break;
      default:
        break;
    }
  }

  #onThreadMessage(channel, message) {
    switch (message.type) {
      case 'crash':
        this.#crashed({ ...message, source: 'port' });
        break;
      case 'output':
        this.#events.output(message.stream, message.text, message.thread);
        break;
      case 'log':
        this.#watchdog.alive();
        this.#events.log({ ...message, level: LOG_LEVELS[message.level] ?? String(message.level) });
        break;
      default:
        break;
    }
  }

  #crashed({ thread, kind, message, stack, source, deferred }) {
    if (!this.#failFast) return;
    if (deferred) {
      // The host only knows that a pool thread died; the thread's own notice is on its
      // way over its port (or already in the crash record). Give it a moment to win.
      if (this.#deferredCrash) return;
      this.#deferredCrash = setTimeout(() => this.#crashed({ thread, kind, message, stack, source }), DEFERRED_CRASH_MS);
      this.#deferredCrash.unref();
      return;
    }
    if (this.#deferredCrash) clearTimeout(this.#deferredCrash);
    // The record in shared memory may be more precise (written by C++ handlers).
    const record = readCrashRecord(this.memory, this.#runtime?.crashRecord);
    const finalKind = record && record.kind !== 'unknown' ? record.kind : kind;
    const finalMessage = record?.message || message;
    this.fail(new WasmPanicError({ thread, kind: finalKind, message: finalMessage, wasmStack: stack, source }));
  }

  #onHostError(error) {
    if (!this.#failFast) return; // heartbeat-only: the silence will be noticed instead
    const record = readCrashRecord(this.memory, this.#runtime?.crashRecord);
    this.fail(new WasmPanicError({
      thread: record?.thread ?? -1,
      kind: record?.kind ?? 'host-exit',
      message: record?.message ?? `the pool host died: ${error?.message ?? error}`,
      wasmStack: error?.stack,
      cause: error,
      source: record ? 'record' : 'exit',
    }));
  }

  #onHostExit(code) {
    if (!this.#failFast) return; // heartbeat-only: the silence will be noticed instead
    if (this.state === 'stopping' || this.state === 'stopped' || this.state === 'failed') return;
    const record = readCrashRecord(this.memory, this.#runtime?.crashRecord);
    this.fail(new WasmPanicError({
      thread: record?.thread ?? -1,
      kind: record?.kind ?? 'host-exit',
      message: record?.message ?? `the pool host exited unexpectedly with code ${code}`,
      source: record ? 'record' : 'exit',
    }));
  }
}

function cloneError(name, args, error) {
  for (let i = 0; i < args.length; i++) {
    try {
      structuredClone(args[i]);
    } catch (inner) {
      return new TypeError(
        `argument ${i + 1} of ${name}() cannot be sent to the pool host (${describe(args[i])}): ` +
          `${inner.message}. Pass numbers, strings, plain objects, arrays or typed arrays.`,
        { cause: inner },
      );
    }
  }
  return new TypeError(`the arguments of ${name}() cannot be sent to the pool host: ${error.message}`, { cause: error });
}

function describe(value) {
  if (typeof value === 'function') return `a function${value.name ? ` named ${value.name}` : ''}`;
  if (typeof value === 'symbol') return 'a symbol';
  if (value && typeof value === 'object') return `an object of class ${value.constructor?.name ?? 'Object'}`;
  return typeof value;
}
