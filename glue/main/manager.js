// ThreadPoolManager: the main-thread face of the pool.
//
// It never runs code of the pool's wasm instance: it compiles the module once, routes the
// export calls made inside execute() to its host, and keeps stats and events. There are
// `hosts` independent hosts; which one an execute() or run() occupies, and the queue when
// all are busy, is the Dispatcher's (dispatcher.js). Each host's life (start, standby,
// replacement after a fault, recycle, idle stop, shutdown) is its own HostSupervisor's
// (supervisor.js); each host's worker, memory, channels and pending calls are a
// HostSession's (host-session.js). A crashed pool thread may die holding a lock in the
// shared heap; because main never enters that heap's code, it can never block on it.
import { EventEmitter } from 'node:events';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { availableParallelism } from 'node:os';
import { WasmAbortError, WasmPoolError, WasmShutdownError, WasmTimeoutError } from './errors.js';
import { HostSession, prebootHost } from './host-session.js';
import { HostSupervisor } from './supervisor.js';
import { Dispatcher } from './dispatcher.js';
import { releaseInstanceWorkers } from './instance-workers.js';
import { loadModule } from './module-loader.js';
import { validateOptions, validateExecuteOptions } from './options.js';
import { Route, enclosingRoutes } from './proxy.js';
import { checkArguments } from './arguments.js';
import { CallTimings } from './call-timings.js';
import { defaultLogSink } from './log-sink.js';
import { detectorsFor } from './detectors.js';

/**
 * With several hosts, one that has answered none of its pending calls for this long takes
 * no further execute (dispatcher.js): a server's calls answer in well under a millisecond,
 * and work queued behind a long call or an undetected hang would wait for all of it.
 */
const STALLED_MS = 10;

export class ThreadPoolManager extends EventEmitter {
  #options;
  #loaded = null; // Promise<LoadedModule>, compiled once per manager
  #moduleLoaded = false; // whether #loaded has resolved
  // A host booting while the module first loads (host-preboot.js), for the first session
  // made: execute() loads the module before it asks for a host, and its first call would
  // otherwise wait for the load and then for a host's boot, one after the other.
  #preboot = null;
  #supervisors; // one per host
  #dispatcher;
  #shutDown = false;
  #active = 0; // execute() and run() calls that have not settled (queued ones included)
  #timings = new CallTimings();
  #stats = { calls: 0, completed: 0, failed: 0, crashes: 0, hangs: 0, restarts: 0, warmRestarts: 0, recycles: 0, executes: 0, runs: 0 };
  #lastStartMs = undefined;

  /**
   * @param {object} options see README "ThreadPoolManager options"
   */
  constructor(options) {
    super();
    this.#options = validateOptions(options, availableParallelism());
    const { hosts, executesPerHost, maxQueue } = this.#options;
    this.#supervisors = Array.from({ length: hosts }, (_, index) => new HostSupervisor({
      createSession: (background, handlers, reuse) => this.#createSession(background, handlers, reuse),
      idleTimeoutMs: this.#options.idleTimeoutMs,
      standby: this.#options.standby,
      notify: {
        started: ({ restart, warm, standby, threads, startMs }) => {
          this.#lastStartMs = startMs;
          if (restart) this.#stats.restarts++;
          if (restart && warm) this.#stats.warmRestarts++;
          this.emit(restart ? 'restart' : 'start', { threads, startMs, ...(hosts > 1 ? { host: index } : {}),
            ...(standby ? { standby } : {}), ...(restart ? { warm: warm === true } : {}) });
          this.#dispatcher.pump(); // work may wait for a host that was being replaced
        },
        fault: (error) => this.#onFault(error, index),
        idle: () => this.emit('idle', ...(hosts > 1 ? [{ host: index }] : [])),
        isActive: () => this.#dispatcher.occupants(index) > 0,
      },
      resend: (fresh, calls) => this.#resend(fresh, calls),
    }));
    this.#dispatcher = new Dispatcher({ hosts, perHost: executesPerHost, maxQueue,
      stateOf: (index) => this.#supervisors[index].state,
      // With one host there is no other to wait for.
      stalled: hosts === 1 ? undefined : (index) => (this.#supervisors[index].current?.silentMs ?? 0) > STALLED_MS });
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
    if (this.#shutDown) throw new WasmShutdownError();
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

    if (this.#options.module === undefined) throw notRoutable({ glueUrl: null });
    const ticket = this.#dispatcher.enqueue();
    this.#stats.executes++;
    let route = null;
    // Until the route exists: an execute() aborted or timed out before its host was ready
    // is closed here, and its callback never runs.
    const waiting = { closed: false };
    return this.#supervised({ signal, timeoutMs, ticket }, () => route ?? waiting, async () => {
      const loaded = await this.#load();
      if (!loaded.patched) {
        await this.#discardPreboot(); // no host is needed to refuse; none is left running after
        throw notRoutable(loaded);
      }
      const supervisor = this.#supervisors[await ticket.granted];
      if (waiting.closed) return undefined;
      const session = await supervisor.acquire();
      if (waiting.closed) return undefined;
      route = new Route({ owner: this, moduleId: loaded.moduleId, hangTimeoutMs, call: (r, name, args) => this.#call(r, name, args) });
      route.supervisor = supervisor;
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
    if (this.#shutDown) throw new WasmShutdownError();
    if (signal?.aborted) throw new WasmAbortError(signal.reason);
    const ticket = this.#dispatcher.enqueue();
    this.#stats.runs++;
    const owner = { closed: false, session: null, supervisor: null };
    return this.#supervised({ signal, timeoutMs, ticket }, () => owner, async () => {
      owner.supervisor = this.#supervisors[await ticket.granted];
      if (owner.closed) return undefined; // aborted or timed out while it waited: never sent
      const session = await owner.supervisor.acquire();
      if (owner.closed) return undefined;
      owner.session = session;
      this.#stats.calls++;
      return session.runJob(url, input, owner, { hangTimeoutMs, transferList }); // counted by the session
    });
  }

  // What execute() and run() share: the place on a host (`ticket`, held until it
  // settles; no idle stop of that host meanwhile), the timeout and the abort signal, which
  // also apply while it waits in the queue. On either, the owner's calls are abandoned; one
  // the host is running is stopped by recycling the host.
  async #supervised({ signal, timeoutMs, ticket }, owner, work) {
    this.#active++;
    ticket.granted.then((index) => this.#supervisors[index].cancelIdle(), () => {});
    let cleanup = () => {};
    try {
      if (signal === undefined && timeoutMs === undefined) return await work(); // nothing can stop it early
      const stopper = new Promise((_, reject) => {
        // Closed at once, not when the rejection reaches the catch below: work still waiting
        // for its host checks it after each wait, and must not start one meanwhile.
        const stop = (error) => {
          const stopped = owner();
          if (stopped) stopped.closed = true;
          reject(error);
        };
        const onAbort = () => stop(new WasmAbortError(signal.reason));
        signal?.addEventListener('abort', onAbort, { once: true });
        const timer = timeoutMs === undefined ? null : setTimeout(() => stop(new WasmTimeoutError(timeoutMs)), timeoutMs);
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
          // on that host's current one.
          for (const session of new Set([stopped.session, stopped.supervisor?.latest])) {
            if (session?.abandon(stopped, error)) this.#recycle(stopped.supervisor, session);
          }
        }
        running.catch(() => {});
        throw error;
      }
    } finally {
      const done = owner();
      if (done) done.closed = true;
      cleanup();
      // A host booted for the first load that no session took (the work was aborted or
      // timed out while the module loaded) would wait, idle, for as long as the process.
      if (--this.#active === 0 && this.#preboot) this.#discardPreboot();
      const index = ticket.index;
      this.#dispatcher.release(ticket);
      if (index >= 0) this.#supervisors[index].checkIdle();
    }
  }

  /**
   * Starts the pool now instead of on the first execute(), so that call does not pay the
   * start-up. Resolves when every host is ready and all its pool threads run; the idle
   * timer applies from then on.
   */
  async start() {
    const sessions = await Promise.all(this.#supervisors.map((supervisor) => supervisor.acquire()));
    await Promise.all(sessions.map((session) => session?.poolRunning?.()));
    for (const supervisor of this.#supervisors) supervisor.checkIdle();
  }

  /**
   * Stops the pool. Calls still pending reject with WasmShutdownError; later execute()
   * calls throw it. Resolves when every host this manager started, including one still
   * stopping for idleness and the standby, has exited with all its threads.
   */
  async shutdown() {
    this.#shutDown = true;
    const discarded = this.#discardPreboot();
    const error = new WasmShutdownError('the ThreadPoolManager was shut down while this call was pending');
    this.#dispatcher.rejectQueued(error);
    await Promise.all([discarded, ...this.#supervisors.map((supervisor) => supervisor.shutdown(error))]);
  }

  /**
   * Counters and timings, for monitoring. The top-level host figures are sums over the
   * hosts (`running`: any host runs); `hosts` has each host's, `queued` what waits for one.
   */
  stats() {
    const hosts = this.#supervisors.map((supervisor, index) => ({
      state: supervisor.state,
      running: supervisor.current !== null,
      active: this.#dispatcher.occupants(index),
      pending: supervisor.latest?.pendingCount ?? 0,
      starts: supervisor.starts,
      standby: supervisor.standbyState,
      standbyStarts: supervisor.standbyStarts,
    }));
    const sum = (field) => hosts.reduce((total, host) => total + host[field], 0);
    const standbys = new Set(hosts.map((host) => host.standby));
    return {
      ...this.#stats,
      starts: sum('starts'),
      standbyStarts: sum('standbyStarts'),
      active: this.#active,
      pending: sum('pending'),
      queued: this.#dispatcher.queued,
      running: hosts.some((host) => host.running),
      standby: standbys.size === 1 ? hosts[0].standby : 'starting',
      threads: this.#options.threads,
      lastStartMs: this.#lastStartMs,
      callTimings: this.#timings.summary(),
      hosts,
    };
  }

  // Inside execute(): the host its calls go to; outside: the first running host.
  #viewedSession() {
    for (const route of enclosingRoutes()) {
      if (route.owner === this) return route.supervisor.current;
    }
    return this.#supervisors.map((supervisor) => supervisor.current).find((session) => session) ?? null;
  }

  /**
   * The shared memory of the running host (inside execute(): the execute's host), or
   * null: read and write its heap directly.
   */
  get memory() {
    return this.#viewedSession()?.memory ?? null;
  }

  /**
   * A typed-array view of the running host's heap (no copy). Valid until the host stops;
   * take views inside execute(), after the call that allocated the memory.
   */
  view(Type, byteOffset, length) {
    const session = this.#viewedSession();
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
    if (this.#loaded === null) {
      try {
        if (!this.#shutDown) this.#preboot ??= prebootHost();
      } catch {
        // No worker could be made now: the session's own start makes one, and says why not.
      }
      this.#loaded = loadModule(this.#options.module, this.#options.wasm);
    }
    try {
      const loaded = await this.#loaded;
      this.#moduleLoaded = true;
      // From the first execute() on, this manager routes the module: its instances on this
      // thread must no longer keep the process alive (instance-workers.js).
      if (loaded.patched) releaseInstanceWorkers(loaded.moduleId);
      return loaded;
    } catch (error) {
      this.#loaded = null; // let the user fix the file and retry
      await this.#discardPreboot();
      throw error;
    }
  }

  // The host booted during the first load, for the session that takes it; or null.
  #takePreboot() {
    const preboot = this.#preboot;
    this.#preboot = null;
    return preboot;
  }

  // Resolves once its thread is gone.
  #discardPreboot() {
    return this.#takePreboot()?.discard() ?? Promise.resolve();
  }

  async #createSession(background, handlers, reuse = null) {
    // While the module is still to be loaded (a first start), the host boots meanwhile: the
    // one the first load started, or one of its own (a second host of hosts: N).
    const loading = this.#load();
    loading.catch(() => {}); // awaited below; a throw before that must not leave it unhandled
    let preboot = null;
    try {
      preboot = reuse === null ? this.#takePreboot() ?? (this.#moduleLoaded ? null : prebootHost()) : null;
      const loaded = await loading;
      return new HostSession({
        loaded,
        reuse,
        preboot,
        restart: this.#options.restart,
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
          counted: (ok) => {
            if (ok) this.#stats.completed++;
            else this.#stats.failed++;
          },
          // A host that had been silent (dispatcher.js, `stalled`) takes queued work again
          // once it answers, without waiting for an execute to end.
          answered: () => this.#dispatcher.pump(),
        },
      });
    } catch (error) {
      preboot?.discard(); // a no-op once the session took it
      throw error;
    }
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
    // The route's host; while a replacement starts (after a crash or a recycle), wait for
    // it rather than knock on the old one.
    const current = route.supervisor.current;
    const starting = route.supervisor.starting;
    // A session counts the outcome of each call it takes (events.counted), without a
    // promise of its own per call; a replacement that fails to start took none.
    if (current) return current.call(name, args, route, limits);
    if (starting) return starting.then((fresh) => fresh.call(name, args, route, limits), this.#countFailed);
    return route.session.call(name, args, route, limits);
  }

  #countFailed = (error) => {
    this.#stats.failed++;
    throw error;
  };

  /**
   * A timed-out or aborted execute() left its call running in the host: replace the host
   * to stop it, and send the calls queued behind it (other executes') to the new one.
   */
  #recycle(supervisor, session) {
    if (supervisor?.recycle(session)) this.#stats.recycles++;
  }

  /**
   * Calls that never started on a host that failed or was recycled: sent to its
   * replacement unchanged, their promises carry on (PendingCall.sendTo).
   */
  #resend(fresh, calls) {
    for (const call of calls) call.sendTo(fresh);
  }

  /** Counts a crash or hang and reports it as a 'crash' event; false for other errors. */
  #onFault(error, host) {
    if (error.code === 'ERR_WASM_HANG') this.#stats.hangs++;
    else if (error.code === 'ERR_WASM_PANIC') this.#stats.crashes++;
    else return false;
    if (this.#options.hosts > 1) error.host ??= host;
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
