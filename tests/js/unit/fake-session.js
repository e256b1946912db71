// A stand-in for HostSession with the same surface the supervisor uses, driven by the
// test: it becomes ready, fails or exits when the test says so. No worker, no wasm.
export class FakeSession {
  state = 'starting';
  threads = 2;
  wasReady = false;
  pendingCount = 0;
  held = false;
  stopped = false;
  failure = null;
  queued = [];
  #handlers;
  #ready;
  #resolveReady;
  #rejectReady;
  #exited;
  #resolveExited;

  constructor(handlers, { background, reuse = null }) {
    this.#handlers = handlers;
    this.background = background;
    this.reuse = reuse; // a worker handed over by a crashed session (warm restart)
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => {});
    this.#exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  ready() {
    return this.#ready;
  }

  exited() {
    return this.#exited;
  }

  hold() {
    this.held = true;
  }

  // --- driven by the test
  becomeReady() {
    this.state = 'ready';
    this.wasReady = true;
    this.#resolveReady();
  }

  failStart(error) {
    this.state = 'failed';
    this.#rejectReady(error);
    this.#handlers.failed(this, error);
    this.#resolveExited(1);
  }

  /**
   * A fault: `handedBack` are calls that had not started, for the replacement; `worker`
   * the worker handed over for a warm restart, if any.
   */
  crash(error, handedBack = [], worker = null) {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    this.failure = error;
    this.#handlers.failed(this, error, handedBack, worker);
    this.#resolveExited(1);
  }

  stuckStop(error) {
    this.#handlers.stuck(this, error);
  }

  settle() {
    this.pendingCount = 0;
    this.#handlers.settled(this);
  }

  // --- called by the supervisor
  fail(error) {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    this.failure = error;
    this.#handlers.failed(this, error);
    this.#resolveExited(1);
  }

  stop() {
    this.state = 'stopped';
    this.stopped = true;
    this.#resolveExited(0);
    return this.#exited;
  }

  detachQueued() {
    this.state = 'stopped';
    this.#resolveExited(0);
    const queued = this.queued;
    this.queued = [];
    return queued;
  }
}

/** A supervisor's createSession that records every session it makes. */
export function fakeFactory() {
  const sessions = [];
  const createSession = async (background, handlers, reuse) => {
    const session = new FakeSession(handlers, { background, reuse });
    sessions.push(session);
    return session;
  };
  return { sessions, createSession };
}

/** A stand-in for a host worker handed over after a crash: only terminate() is used. */
export class FakeWorker {
  terminated = false;
  terminate() {
    this.terminated = true;
    return Promise.resolve(1);
  }
}

/** Lets pending promise callbacks run. */
export async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
