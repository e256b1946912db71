// ThreadPoolManager: the main-thread face of the pool.
//
// It never runs code of the pool's wasm instance: it compiles the module once, makes a
// fresh shared memory and a fresh host worker for each session, routes the export calls
// made inside execute() to that host, watches it, and replaces it after a crash or hang.
// A crashed pool thread may die holding a lock in the shared heap; because main never
// enters that heap's code, it can never block on it.
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { WasmAbortError, WasmPoolError, WasmShutdownError, WasmTimeoutError } from './errors.js';
import { HostSession } from './host-session.js';
import { loadModule } from './module-loader.js';
import { validateOptions, validateExecuteOptions } from './options.js';
import { enclosingRoutes, runRouted } from './proxy.js';
import { checkArguments } from './arguments.js';
import { CallTimings } from './call-timings.js';
import { defaultLogSink } from './log-sink.js';

export class ThreadPoolManager extends EventEmitter {
  #options;
  #loaded = null; // Promise<LoadedModule>, compiled once per manager
  #session = null;
  #starting = null; // Promise<HostSession> while a session starts
  #active = 0; // execute() calls whose callback has not settled
  #idleTimer = null;
  #shutdown = false;
  #timings = new CallTimings();
  #stats = { calls: 0, completed: 0, failed: 0, crashes: 0, hangs: 0, starts: 0, restarts: 0, recycles: 0, standbyStarts: 0, executes: 0 };
  #lastStartMs = undefined;
  #waitedFor = false; // an execute() waits for the session being started
  #spare = null; // with options.standby: a second host, started and idle, to replace a failed one
  #sessions = new Set(); // every host whose worker has not exited yet, whatever its state

  /**
   * @param {object} options see README "ThreadPoolManager options"
   */
  constructor(options) {
    super();
    this.#options = validateOptions(options, availableParallelism());
  }

  /** The options in force, defaults filled in. */
  get options() {
    return { ...this.#options };
  }

  /**
   * Runs `fn`. Every call it makes into the patched module, directly or through other
   * libraries, in its async context, goes to the pool's host and returns a Promise.
   * @template T
   * @param {() => T | Promise<T>} fn
   * @param {{signal?: AbortSignal, timeoutMs?: number, hangTimeoutMs?: number}} [options]
   * @returns {Promise<Awaited<T>>}
   */
  async execute(fn, options = {}) {
    if (typeof fn !== 'function') {
      throw new TypeError(`execute(fn) needs a function, got ${fn === null ? 'null' : typeof fn}`);
    }
    const { signal, timeoutMs, hangTimeoutMs } = validateExecuteOptions(options);
    if (this.#shutdown) throw new WasmShutdownError();
    for (const route of enclosingRoutes()) {
      if (route.manager === this) {
        throw new WasmPoolError(
          'execute() was called inside execute() of the same ThreadPoolManager; call the module ' +
            'directly instead, its calls are already routed to the pool',
          { code: 'ERR_WASM_NESTED_EXECUTE' },
        );
      }
    }
    if (signal?.aborted) throw new WasmAbortError(signal.reason);

    this.#active++;
    this.#stats.executes++;
    this.#cancelIdleTimer();
    const route = { manager: this, moduleId: null, session: null, call: null, closed: false, hangTimeoutMs };
    let cleanup = () => {};
    try {
      const stopper = new Promise((_, reject) => {
        const onAbort = () => reject(new WasmAbortError(signal.reason));
        signal?.addEventListener('abort', onAbort, { once: true });
        const timer = timeoutMs === undefined ? null : setTimeout(() => reject(new WasmTimeoutError(timeoutMs)), timeoutMs);
        cleanup = () => {
          signal?.removeEventListener('abort', onAbort);
          if (timer) clearTimeout(timer);
        };
      });
      stopper.catch(() => {});
      const work = (async () => {
        const session = await this.#ensureSession();
        const loaded = await this.#loaded;
        route.moduleId = loaded.moduleId;
        route.session = session;
        route.call = (name, args) => this.#call(route, name, args);
        return runRouted(route, fn);
      })();
      try {
        return await Promise.race([work, stopper]);
      } catch (error) {
        if (error instanceof WasmAbortError || error instanceof WasmTimeoutError) {
          route.closed = true;
          // Its calls may sit on the host it started with and, after a crash or a recycle,
          // on the current one.
          for (const session of new Set([route.session, this.#session])) {
            if (session?.abandon(route, error)) this.#recycle(session);
          }
          work.catch(() => {});
        }
        throw error;
      }
    } finally {
      route.closed = true;
      cleanup();
      this.#active--;
      this.#maybeIdle();
    }
  }

  /**
   * Starts the pool now instead of on the first execute(), so that call does not pay the
   * start-up. Resolves when the host is ready; the idle timer applies from then on.
   */
  async start() {
    if (this.#shutdown) throw new WasmShutdownError();
    await this.#ensureSession();
    this.#maybeIdle();
  }

  /**
   * Stops the pool. Calls still pending reject with WasmShutdownError; later execute()
   * calls throw it. Resolves when every host this manager started, including one still
   * stopping for idleness and the standby, has exited with all its threads.
   */
  async shutdown() {
    this.#shutdown = true;
    this.#cancelIdleTimer();
    if (this.#starting) await this.#starting.catch(() => null);
    this.#session = null;
    this.#spare = null;
    const shutdownError = new WasmShutdownError('the ThreadPoolManager was shut down while this call was pending');
    await Promise.all([...this.#sessions].map((session) => {
      if (session.pendingCount > 0) session.fail(shutdownError);
      else session.stop({ keepAlive: true });
      return session.exited();
    }));
  }

  /** Counters and timings, for monitoring. */
  stats() {
    return {
      ...this.#stats,
      active: this.#active,
      pending: this.#session?.pendingCount ?? 0,
      running: this.#session?.state === 'ready',
      standby: this.#spare ? (this.#spare.state === 'ready' ? 'ready' : 'starting') : 'none',
      threads: this.#options.threads,
      lastStartMs: this.#lastStartMs,
      callTimings: this.#timings.summary(),
    };
  }

  /** The shared memory of the running host, or null: read and write its heap directly. */
  get memory() {
    return this.#session?.state === 'ready' ? this.#session.memory : null;
  }

  /**
   * A typed-array view of the running host's heap (no copy). Valid until the host stops;
   * take views inside execute(), after the call that allocated the memory.
   */
  view(Type, byteOffset, length) {
    const session = this.#session;
    if (!session || session.state !== 'ready') {
      throw new WasmPoolError('view() needs a running pool: call it inside execute()', { code: 'ERR_WASM_HOST_GONE' });
    }
    if (typeof Type !== 'function' || !('BYTES_PER_ELEMENT' in Type)) {
      throw new TypeError('view(Type, byteOffset, length): Type must be a typed array constructor such as Float64Array');
    }
    return session.view(Type, byteOffset, length);
  }

  /** The running session, starting one if needed; `background` starts without waiting. */
  async #ensureSession({ background = false } = {}) {
    if (this.#session && this.#session.state === 'ready') return this.#session;
    if (!this.#starting) {
      this.#starting = this.#startSession(background).finally(() => {
        this.#starting = null;
      });
    }
    if (!background) {
      this.#waitedFor = true;
      this.#session?.hold();
    }
    return this.#starting;
  }

  async #startSession(background) {
    const began = performance.now();
    this.#waitedFor = !background;
    this.#loaded ??= loadModule(this.#options.module, this.#options.wasm);
    let loaded;
    try {
      loaded = await this.#loaded;
    } catch (error) {
      this.#loaded = null; // let the user fix the file and retry
      throw error;
    }
    if (this.#shutdown) throw new WasmShutdownError();
    const restart = this.#stats.starts > 0;
    const session = this.#createSession(loaded, background);
    this.#session = session;
    if (this.#waitedFor) session.hold();
    this.#stats.starts++;
    if (restart) this.#stats.restarts++;
    await session.ready();
    this.#lastStartMs = performance.now() - began;
    this.emit(restart ? 'restart' : 'start', { threads: session.threads, startMs: this.#lastStartMs });
    if (background) this.#maybeIdle();
    this.#startSpare();
    return session;
  }

  #createSession(loaded, background) {
    const session = new HostSession({
      loaded,
      threads: this.#options.threads,
      maxExtraThreads: this.#options.maxExtraThreads,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.#options.heartbeatTimeoutMs,
      crashDetection: this.#options.crashDetection,
      background,
      events: {
        log: (entry) => this.#log(entry),
        output: (stream, text, thread = -1, pthread = 0) =>
          this.#log({ level: stream === 'stdout' ? 'stdout' : 'stderr', message: text, thread, pthread, time: Date.now() }),
        failed: (failed, error) => this.#onSessionFailed(failed, error),
        stuck: (_stuck, error) => this.#onFault(error),
        settled: () => this.#maybeIdle(),
        timing: (ms) => this.#timings.add(ms),
      },
    });
    this.#sessions.add(session);
    session.exited().then(() => this.#sessions.delete(session));
    return session;
  }

  /** options.standby: keep a second host started and idle, ready to replace a failed one. */
  #startSpare() {
    if (!this.#options.standby || this.#shutdown || this.#spare || !this.#session || !this.#loaded) return;
    this.#loaded.then((loaded) => {
      if (this.#shutdown || this.#spare || !this.#session) return;
      this.#spare = this.#createSession(loaded, true);
      this.#stats.standbyStarts++;
    }, () => {});
  }

  /**
   * Replaces a failed or recycled host: promotes the standby host when there is one (ready
   * at once, or as soon as it finishes starting), else starts a new one off the caller's
   * path. Resolves to the new session.
   */
  #replace() {
    const spare = this.#spare;
    if (!spare) return this.#ensureSession({ background: true });
    this.#spare = null;
    const began = performance.now();
    this.#session = spare;
    this.#stats.restarts++;
    const promoted = spare.ready().then(() => {
      this.#lastStartMs = performance.now() - began;
      this.emit('restart', { threads: spare.threads, startMs: this.#lastStartMs, standby: true });
      this.#maybeIdle();
      this.#startSpare();
      return spare;
    });
    if (spare.state !== 'ready') {
      this.#starting = promoted.finally(() => {
        this.#starting = null;
      });
    }
    return promoted;
  }

  #call(route, name, args) {
    if (route.closed) {
      return Promise.reject(new WasmPoolError(
        `${name}() was called after its execute() finished; keep calls inside the callback`,
        { code: 'ERR_WASM_CALL_OUTSIDE_EXECUTE' }));
    }
    const refused = checkArguments(name, args);
    if (refused) return Promise.reject(refused);
    this.#stats.calls++;
    const limits = { hangTimeoutMs: route.hangTimeoutMs };
    // The current host; while a replacement starts (after a crash or a recycle), wait for
    // it rather than knock on the old one.
    const current = this.#session;
    let sent;
    if (current?.state === 'ready') sent = current.call(name, args, route, limits);
    else if (this.#starting) sent = this.#starting.then((fresh) => fresh.call(name, args, route, limits));
    else sent = route.session.call(name, args, route, limits);
    return sent.then(
      (value) => {
        this.#stats.completed++;
        return value;
      },
      (error) => {
        this.#stats.failed++;
        throw error;
      },
    );
  }

  /**
   * A timed-out or aborted execute() left its call running in the host: replace the host
   * to stop it, and send the calls queued behind it (other executes') to the new one.
   */
  #recycle(session) {
    if (this.#session !== session || session.state !== 'ready') return;
    this.#session = null;
    this.#stats.recycles++;
    const queued = session.detachQueued();
    if (queued.length === 0 && this.#active === 0 && !this.#spare) return;
    this.#replace().then(
      (fresh) => {
        for (const call of queued) {
          fresh.call(call.name, call.args, call.owner, { hangTimeoutMs: call.hangTimeoutMs }).then(call.resolve, call.reject);
        }
      },
      (error) => {
        for (const call of queued) call.reject(error);
      },
    );
  }

  #onSessionFailed(session, error) {
    if (this.#spare === session) {
      // The standby host failed before it was needed: drop it; the next ready host makes another.
      this.#spare = null;
      return;
    }
    if (this.#session === session) this.#session = null;
    if (!this.#onFault(error)) return; // shut down on purpose
    // Start the replacement now, off the caller's path: the next execute() finds it ready
    // or nearly so. Only for a host that had worked (no restart loop on a start failure);
    // it is unref'd, and the idle timer stops it if nobody comes back.
    if (!this.#shutdown && session.wasReady) this.#replace().catch(() => {});
  }

  /** Counts a crash or hang and reports it as a 'crash' event; false for other errors. */
  #onFault(error) {
    if (error.code === 'ERR_WASM_HANG') this.#stats.hangs++;
    else if (error.code === 'ERR_WASM_PANIC') this.#stats.crashes++;
    else return false;
    if (this.listenerCount('crash') > 0) this.emit('crash', error);
    return true;
  }

  #log(entry) {
    const sink = this.#options.log;
    if (this.listenerCount('log') > 0) this.emit('log', entry);
    if (sink === false) return;
    (sink ?? defaultLogSink)(entry);
  }

  #cancelIdleTimer() {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #maybeIdle() {
    const session = this.#session;
    if (!session || this.#active > 0 || session.pendingCount > 0 || this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#session === session && this.#active === 0 && session.pendingCount === 0) {
        this.#session = null;
        const spare = this.#spare;
        this.#spare = null;
        Promise.all([session.stop(), spare?.stop()]).then(() => this.emit('idle'), () => {});
      }
    }, this.#options.idleTimeoutMs);
    this.#idleTimer.unref();
  }
}
