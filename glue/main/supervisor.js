// HostSupervisor: the life of the hosts behind one ThreadPoolManager. It decides when a
// host is started, replaced, recycled, stopped for idleness, kept on standby, and shut
// down; the manager keeps execute(), routing, stats and events.
//
// States of the active slot (`state`), and what moves them:
//
//   none ──acquire()──▶ starting ──ready──▶ ready ──idle timer──▶ none (host stopping)
//     ▲                    │                  │
//     │                    └──start failed────┤──fault──▶ replacing ──ready──▶ ready
//     │                                       │              (standby promoted, or a new
//     └───────────────────────────────────────┘               host started in the background)
//                                              ──recycle──▶ replacing (queued calls moved)
//   any ──shutdown()──▶ shut-down (every host stopped, pending calls rejected)
//
// A fault hands back the calls that had not started on the failed host (host-session.js);
// they go to the replacement like a recycle's queued calls, through `resend`. After a
// crash it may also hand over its worker (warm restart): kept here, it is given to the next
// session made (the replacement, or the next standby), and terminated if none is.
// With `standby`, a second host is started whenever one becomes ready, and promoted on a
// fault or a recycle. Every host ever created stays in `#hosts` until its worker has
// exited, so shutdown() can wait for all of them, including one still stopping.
// Sessions come from `createSession(background, handlers)`, so the supervisor can be
// tested with a fake session (tests/js/unit/supervisor.test.js).
import { WasmShutdownError } from './errors.js';

export class HostSupervisor {
  /** 'none' | 'starting' | 'ready' | 'replacing' | 'shut-down' */
  state = 'none';
  #createSession;
  #idleTimeoutMs;
  #standby;
  #notify;
  #resend;
  #current = null;
  #starting = null; // Promise<session> while the active slot is being filled
  #spare = null;
  #hosts = new Set();
  #idleTimer = null;
  #starts = 0;
  #standbyStarts = 0;
  #waitedFor = false; // someone waits for the host being started: keep the process alive
  // A worker handed over by a session that ended in a crash (warm restart): the next
  // session made renews it instead of starting a new one.
  #reusable = null;

  /**
   * @param {object} o
   * @param {(background: boolean, handlers: {failed: Function, stuck: Function, settled: Function}) => object} o.createSession
   * @param {number} o.idleTimeoutMs
   * @param {boolean} o.standby
   * @param {{started: Function, fault: Function, idle: Function, isActive: () => boolean}} o.notify
   * @param {(fresh: object, calls: object[]) => void} [o.resend] sends calls that never started
   *   on a failed or recycled host to its replacement
   */
  constructor({ createSession, idleTimeoutMs, standby, notify, resend }) {
    this.#createSession = createSession;
    this.#resend = resend ?? ((_fresh, calls) => {
      for (const call of calls) call.reject(new Error('no resend configured'));
    });
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#standby = standby;
    this.#notify = notify;
  }

  /** The ready host, or null. */
  get current() {
    return this.#current?.state === 'ready' ? this.#current : null;
  }

  /** The host calls go to: the ready one, else the one being started (may be null). */
  get latest() {
    return this.#current;
  }

  /** While a host is being started or promoted: resolves to it. */
  get starting() {
    return this.#starting;
  }

  get standbyState() {
    if (!this.#spare) return 'none';
    return this.#spare.state === 'ready' ? 'ready' : 'starting';
  }

  get starts() {
    return this.#starts;
  }

  get standbyStarts() {
    return this.#standbyStarts;
  }

  /**
   * The ready host, starting one if needed. `background`: nobody waits for it yet (a
   * replacement after a fault), so it must not keep the process alive.
   */
  acquire({ background = false } = {}) {
    if (this.state === 'shut-down') return Promise.reject(new WasmShutdownError());
    if (this.#current && this.#current.state === 'ready') return Promise.resolve(this.#current);
    if (!this.#starting) {
      if (this.state !== 'replacing') this.state = 'starting';
      this.#starting = this.#start(background).finally(() => {
        this.#starting = null;
      });
    }
    if (!background) {
      this.#waitedFor = true;
      this.#current?.hold();
    }
    return this.#starting;
  }

  async #start(background) {
    const began = performance.now();
    this.#waitedFor = !background;
    const restart = this.#starts > 0;
    const session = await this.#newSession(background);
    if (this.state === 'shut-down') {
      session.stop();
      throw new WasmShutdownError();
    }
    this.#current = session;
    if (this.#waitedFor) session.hold();
    this.#starts++;
    try {
      await session.ready();
    } catch (error) {
      if (this.#current === session) {
        this.#current = null;
        this.state = 'none';
      }
      throw error;
    }
    this.state = 'ready';
    this.#notify.started({ restart, warm: session.warm, threads: session.threads, startMs: performance.now() - began });
    if (background) this.checkIdle();
    this.#startSpare();
    return session;
  }

  async #newSession(background) {
    const reuse = this.#reusable;
    this.#reusable = null;
    const session = await this.#createSession(background, {
      failed: (failed, error, queued, handedOver) => this.#onFailed(failed, error, queued ?? [], handedOver ?? null),
      stuck: (_stuck, error) => this.#notify.fault(error),
      settled: () => this.checkIdle(),
    }, reuse).catch((error) => {
      reuse?.terminate();
      throw error;
    });
    this.#hosts.add(session);
    session.exited().then(() => this.#hosts.delete(session));
    return session;
  }

  /** With `standby`: keep a second host started and idle, ready to replace a failed one. */
  #startSpare() {
    if (!this.#standby || this.state === 'shut-down' || this.#spare || !this.#current) return;
    this.#standbyStarts++;
    this.#newSession(true).then((spare) => {
      if (this.state === 'shut-down' || this.#spare) spare.stop();
      else this.#spare = spare;
    }, () => {});
  }

  /**
   * Fills the active slot after a fault or a recycle: promotes the standby host when there
   * is one (ready at once, or as soon as it finishes starting), else starts a new one off
   * the caller's path. Resolves to the new host.
   */
  #replace() {
    const spare = this.#spare;
    if (!spare) return this.acquire({ background: true });
    this.#spare = null;
    const began = performance.now();
    this.#current = spare;
    this.state = spare.state === 'ready' ? 'ready' : 'replacing';
    const promoted = spare.ready().then(() => {
      this.state = 'ready';
      this.#notify.started({ restart: true, standby: true, threads: spare.threads, startMs: performance.now() - began });
      this.checkIdle();
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

  /**
   * Stops the call `session` is running by replacing the host (synchronous wasm cannot be
   * interrupted otherwise); the calls queued behind it never started and are sent to the
   * new host. `resend(fresh, queued)` does the sending (the constructor's by default).
   */
  recycle(session, resend = this.#resend) {
    if (this.#current !== session || session.state !== 'ready') return false;
    this.#current = null;
    this.state = 'replacing';
    const queued = session.detachQueued();
    if (queued.length === 0 && !this.busy && !this.#spare) {
      this.state = 'none';
      return true;
    }
    this.#replace().then(
      (fresh) => resend(fresh, queued),
      (error) => {
        for (const call of queued) call.reject(error);
      },
    );
    return true;
  }

  #onFailed(session, error, queued, handedOver) {
    // Kept for the next session made here (the replacement, or the next standby); any
    // worker still kept from before is not needed any more.
    this.#dropReusable();
    this.#reusable = handedOver;
    if (this.#spare === session) {
      // The standby host failed before it was needed: drop it; the next ready host makes another.
      this.#spare = null;
      return;
    }
    if (this.#current === session) {
      this.#current = null;
      this.state = 'none';
    }
    const faulted = this.#notify.fault(error);
    if (!faulted || this.state === 'shut-down' || !session.wasReady) {
      this.#dropReusable();
      // Shut down on purpose, or a start failure: nothing to hand over to.
      for (const call of queued) call.reject(error);
      return;
    }
    // Start the replacement now, off the caller's path: the next call finds it ready or
    // nearly so (no restart loop on a start failure: only a host that had worked). With
    // nothing handed back it is unref'd, and the idle timer stops it if nobody comes back;
    // the calls handed back wait for it and are sent there unchanged.
    this.state = 'replacing';
    const handOver = (replacement) => {
      if (queued.length === 0) return replacement.catch(() => {});
      return replacement.then((fresh) => this.#resend(fresh, queued), (failure) => {
        for (const call of queued) call.reject(failure);
      });
    };
    if (this.#spare) {
      handOver(this.#replace()); // promotion: nothing to create now
      return;
    }
    // A macrotask later: creating a host (a Worker, a shared memory) is synchronous work
    // that would otherwise run before the callers see their rejections.
    setImmediate(() => {
      if (queued.length > 0) handOver(this.acquire());
      else if (this.state === 'replacing' && !this.#current && !this.#starting) handOver(this.#replace());
    });
  }

  // Resolves once the kept worker, if any, has exited.
  #dropReusable() {
    const dropped = this.#reusable?.terminate();
    this.#reusable = null;
    return dropped;
  }

  cancelIdle() {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  /**
   * Whether this host is in use: an execute() or run() occupies it (the dispatcher's
   * count, through notify.isActive), or its session still owes an answer (a call whose
   * execute() ended, a job). The one definition the idle stop and the recycle read.
   */
  get busy() {
    return this.#notify.isActive() || (this.#current?.pendingCount ?? 0) > 0;
  }

  /** Arms the idle stop when the host is not busy. */
  checkIdle() {
    const session = this.#current;
    if (!session || this.busy || this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#current !== session || this.busy) return;
      this.#current = null;
      this.state = 'none';
      const spare = this.#spare;
      this.#spare = null;
      Promise.all([session.stop(), spare?.stop(), this.#dropReusable()]).then(() => this.#notify.idle(), () => {});
    }, this.#idleTimeoutMs);
    this.#idleTimer.unref();
  }

  /**
   * Stops every host: pending calls reject with `error`. Resolves when every host ever
   * started (the active one, the standby, one still stopping for idleness) has exited.
   */
  async shutdown(error) {
    this.state = 'shut-down';
    this.cancelIdle();
    const dropped = this.#dropReusable();
    if (this.#starting) await this.#starting.catch(() => null);
    this.#current = null;
    this.#spare = null;
    await Promise.all([dropped, ...[...this.#hosts].map((session) => {
      if (session.pendingCount > 0) session.fail(error);
      else session.stop({ keepAlive: true });
      return session.exited();
    })]);
  }
}
