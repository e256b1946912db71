// ThreadPoolManager: the main-thread face of the pool.
//
// It never runs code of the pool's wasm instance: it compiles the module once, routes the
// export calls made inside execute() to the current host, and keeps stats and events. The
// hosts themselves (start, standby, replacement after a fault, recycle, idle stop,
// shutdown) are the HostSupervisor's (supervisor.js); each host's worker, memory, channels
// and pending calls are a HostSession's (host-session.js). A crashed pool thread may die
// holding a lock in the shared heap; because main never enters that heap's code, it can
// never block on it.
import { EventEmitter } from 'node:events';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { availableParallelism } from 'node:os';
import { WasmAbortError, WasmPoolError, WasmShutdownError, WasmTimeoutError } from './errors.js';
import { HostSession } from './host-session.js';
import { HostSupervisor } from './supervisor.js';
import { loadModule } from './module-loader.js';
import { validateOptions, validateExecuteOptions } from './options.js';
import { Route, enclosingRoutes } from './proxy.js';
import { checkArguments } from './arguments.js';
import { CallTimings } from './call-timings.js';
import { defaultLogSink } from './log-sink.js';
import { detectorsFor } from './detectors.js';

export class ThreadPoolManager extends EventEmitter {
  #options;
  #loaded = null; // Promise<LoadedModule>, compiled once per manager
  #supervisor;
  #active = 0; // execute() calls whose callback has not settled
  #timings = new CallTimings();
  #stats = { calls: 0, completed: 0, failed: 0, crashes: 0, hangs: 0, restarts: 0, recycles: 0, executes: 0, runs: 0 };
  #lastStartMs = undefined;

  /**
   * @param {object} options see README "ThreadPoolManager options"
   */
  constructor(options) {
    super();
    this.#options = validateOptions(options, availableParallelism());
    this.#supervisor = new HostSupervisor({
      createSession: (background, handlers) => this.#createSession(background, handlers),
      idleTimeoutMs: this.#options.idleTimeoutMs,
      standby: this.#options.standby,
      notify: {
        started: ({ restart, standby, threads, startMs }) => {
          this.#lastStartMs = startMs;
          if (restart) this.#stats.restarts++;
          this.emit(restart ? 'restart' : 'start', { threads, startMs, ...(standby ? { standby } : {}) });
        },
        fault: (error) => this.#onFault(error),
        idle: () => this.emit('idle'),
        isActive: () => this.#active > 0,
      },
    });
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
    if (this.#supervisor.state === 'shut-down') throw new WasmShutdownError();
    for (const route of enclosingRoutes()) {
      if (route.owner === this) {
        throw new WasmPoolError(
          'execute() was called inside execute() of the same ThreadPoolManager; call the module ' +
            'directly instead, its calls are already routed to the pool',
          { code: 'ERR_WASM_NESTED_EXECUTE' },
        );
      }
    }
    if (signal?.aborted) throw new WasmAbortError(signal.reason);

    const loaded = await this.#load();
    if (!loaded.patched) throw notRoutable(loaded);
    this.#stats.executes++;
    let route = null;
    return this.#supervised({ signal, timeoutMs }, () => route, async () => {
      const session = await this.#supervisor.acquire();
      route = new Route({ owner: this, moduleId: loaded.moduleId, hangTimeoutMs, call: (r, name, args) => this.#call(r, name, args) });
      route.session = session;
      return route.run(fn);
    });
  }

  /**
   * Runs a job in the host: the default export of the ES module `job` (a path or a file:
   * URL) is called there as `await fn(input, { module, memory })`, next to the module's
   * instance, so it can call exports synchronously, keep pointers, use embind classes, or
   * load a package's own patched glue. Only `input` (structured clone, or moved with
   * `transferList`) and the result cross. Same crash, hang, abort and timeout semantics
   * as execute().
   * @param {string | URL} job
   * @param {unknown} [input]
   * @param {{signal?: AbortSignal, timeoutMs?: number, hangTimeoutMs?: number, transferList?: Transferable[]}} [options]
   */
  async run(job, input, options = {}) {
    const url = jobUrl(job);
    const { transferList, ...rest } = options ?? {};
    if (transferList !== undefined && !Array.isArray(transferList)) {
      throw new TypeError('run() option transferList must be an array of transferable objects');
    }
    const { signal, timeoutMs, hangTimeoutMs } = validateExecuteOptions(rest);
    if (this.#supervisor.state === 'shut-down') throw new WasmShutdownError();
    if (signal?.aborted) throw new WasmAbortError(signal.reason);
    this.#stats.runs++;
    const owner = { closed: false, session: null };
    return this.#supervised({ signal, timeoutMs }, () => owner, async () => {
      const session = await this.#supervisor.acquire();
      owner.session = session;
      this.#stats.calls++;
      return this.#counted(session.runJob(url, input, owner, { hangTimeoutMs, transferList }));
    });
  }

  // What execute() and run() share: the active count (no idle stop meanwhile), the
  // timeout and the abort signal. On either, the owner's calls are abandoned; one the host
  // is running is stopped by recycling the host.
  async #supervised({ signal, timeoutMs }, owner, work) {
    this.#active++;
    this.#supervisor.cancelIdle();
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
      const running = work();
      try {
        return await Promise.race([running, stopper]);
      } catch (error) {
        const stopped = owner();
        if (stopped && (error instanceof WasmAbortError || error instanceof WasmTimeoutError)) {
          stopped.closed = true;
          // Its calls may sit on the host it started with and, after a crash or a recycle,
          // on the current one.
          for (const session of new Set([stopped.session, this.#supervisor.latest])) {
            if (session?.abandon(stopped, error)) this.#recycle(session);
          }
        }
        running.catch(() => {});
        throw error;
      }
    } finally {
      const done = owner();
      if (done) done.closed = true;
      cleanup();
      this.#active--;
      this.#supervisor.checkIdle();
    }
  }

  /**
   * Starts the pool now instead of on the first execute(), so that call does not pay the
   * start-up. Resolves when the host is ready; the idle timer applies from then on.
   */
  async start() {
    await this.#supervisor.acquire();
    this.#supervisor.checkIdle();
  }

  /**
   * Stops the pool. Calls still pending reject with WasmShutdownError; later execute()
   * calls throw it. Resolves when every host this manager started, including one still
   * stopping for idleness and the standby, has exited with all its threads.
   */
  shutdown() {
    return this.#supervisor.shutdown(new WasmShutdownError('the ThreadPoolManager was shut down while this call was pending'));
  }

  /** Counters and timings, for monitoring. */
  stats() {
    const current = this.#supervisor.current;
    return {
      ...this.#stats,
      starts: this.#supervisor.starts,
      standbyStarts: this.#supervisor.standbyStarts,
      active: this.#active,
      pending: this.#supervisor.latest?.pendingCount ?? 0,
      running: current !== null,
      standby: this.#supervisor.standbyState,
      threads: this.#options.threads,
      lastStartMs: this.#lastStartMs,
      callTimings: this.#timings.summary(),
    };
  }

  /** The shared memory of the running host, or null: read and write its heap directly. */
  get memory() {
    return this.#supervisor.current?.memory ?? null;
  }

  /**
   * A typed-array view of the running host's heap (no copy). Valid until the host stops;
   * take views inside execute(), after the call that allocated the memory.
   */
  view(Type, byteOffset, length) {
    const session = this.#supervisor.current;
    if (!session) {
      throw new WasmPoolError('view() needs a running pool: call it inside execute()', { code: 'ERR_WASM_HOST_GONE' });
    }
    if (!session.memory) {
      throw new WasmPoolError('view() reads the memory main made for patched glue; this manager\'s module is not ' +
        'patched (or there is none): read memory inside a run() job instead', { code: 'ERR_WASM_NOT_ROUTABLE' });
    }
    if (typeof Type !== 'function' || !('BYTES_PER_ELEMENT' in Type)) {
      throw new TypeError('view(Type, byteOffset, length): Type must be a typed array constructor such as Float64Array');
    }
    return session.view(Type, byteOffset, length);
  }

  // The module, read and checked once per manager.
  async #load() {
    this.#loaded ??= loadModule(this.#options.module, this.#options.wasm);
    try {
      return await this.#loaded;
    } catch (error) {
      this.#loaded = null; // let the user fix the file and retry
      throw error;
    }
  }

  async #createSession(background, handlers) {
    const loaded = await this.#load();
    return new HostSession({
      loaded,
      threads: this.#options.threads,
      maxExtraThreads: this.#options.maxExtraThreads,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.#options.heartbeatTimeoutMs,
      detectors: detectorsFor(this.#options.crashDetection),
      background,
      events: {
        ...handlers,
        log: (entry) => this.#log(entry),
        output: (stream, text, thread = -1, pthread = 0) =>
          this.#log({ level: stream === 'stdout' ? 'stdout' : 'stderr', message: text, thread, pthread, time: Date.now() }),
        timing: (ms) => this.#timings.add(ms),
      },
    });
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
    const current = this.#supervisor.current;
    const starting = this.#supervisor.starting;
    let sent;
    if (current) sent = current.call(name, args, route, limits);
    else if (starting) sent = starting.then((fresh) => fresh.call(name, args, route, limits));
    else sent = route.session.call(name, args, route, limits);
    return this.#counted(sent);
  }

  /** Counts a sent call's outcome in stats(). */
  #counted(sent) {
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
    const recycled = this.#supervisor.recycle(session, (fresh, queued) => {
      for (const call of queued) {
        const limits = { hangTimeoutMs: call.hangTimeoutMs };
        const resent = call.job ? fresh.runJob(call.job.url, call.job.input, call.owner, limits)
          : fresh.call(call.name, call.args, call.owner, limits);
        resent.then(call.resolve, call.reject);
      }
    });
    if (recycled) this.#stats.recycles++;
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
}

// Why execute() cannot route calls for this manager, and what to do instead.
function notRoutable(loaded) {
  const what = loaded.glueUrl === null ? 'this ThreadPoolManager has no module (options.module)'
    : `${fileURLToPath(loaded.glueUrl)} is not patched for wasm-threadpool`;
  return new WasmPoolError(`execute() routes calls made into patched glue to the pool host, and ${what}. Run the ` +
    'package\'s own JS API inside the host with manager.run(job, input) (no patch needed), or patch the glue with ' +
    '`npx wasm-threadpool-patch <glue>` (not possible for Closure-compiled glue)', { code: 'ERR_WASM_NOT_ROUTABLE' });
}

// run()'s job as a file: URL the host can import.
function jobUrl(job) {
  if (job instanceof URL) {
    if (job.protocol !== 'file:') throw new TypeError(`run(job): the job must be a file: URL or a path, got ${job.href}`);
    return job.href;
  }
  if (typeof job === 'string' && job.startsWith('file:')) return new URL(job).href;
  if (typeof job === 'string' && isAbsolute(job)) return pathToFileURL(job).href;
  throw new TypeError('run(job): the job must be an absolute path or a file: URL of an ES module, e.g. new URL(\'./job.mjs\', import.meta.url)');
}
