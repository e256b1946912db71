// The calls one host owes an answer, in the order they were sent, and what becomes of them
// when the host ends. A HostSession keeps one table; nothing else reads its records.
//
// Invariants:
//   - the host runs calls and jobs one at a time in the order they were sent, so the
//     oldest entry is the one it runs now (or will run next);
//   - every entry is settled exactly once: by its answer, by abandon(), by the fault that
//     ended the host, or by being sent again to a replacement (sendTo), whose outcome then
//     settles it;
//   - an entry is in the table until it is settled or handed back, never after.
import { WasmPoolError } from './errors.js';

/** One call or job sent to a host and not yet answered. */
export class PendingCall {
  #resolve;
  #reject;
  #counted; // told the outcome once, when this call settles here (stats), or null

  /**
   * @param {object} o
   * @param {string} o.name the export's name, or "the job <url>"
   * @param {unknown[]} [o.args] an export call's arguments
   * @param {{url: string, input: unknown}} [o.job] a job's module and input
   * @param {{closed?: boolean}} o.owner the execute() or run() it belongs to
   * @param {number} [o.hangTimeoutMs] the hang timeout while it runs (undefined: the session's)
   * @param {boolean} [o.transferred] its input was moved (transferList): it cannot be sent twice
   * @param {(ok: boolean) => void} [counted] told the outcome once, when this call settles here
   */
  constructor({ name, args, job, owner, hangTimeoutMs, transferred = false }, resolve, reject, counted = null) {
    this.name = name;
    this.args = args;
    this.job = job;
    this.owner = owner;
    this.hangTimeoutMs = hangTimeoutMs;
    this.transferred = transferred;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#counted = counted;
    this.sentAt = performance.now();
  }

  resolve(value) {
    this.#counted?.(true);
    this.#resolve(value);
  }

  reject(error) {
    this.#counted?.(false);
    this.#reject(error);
  }

  /**
   * Sends this call, which never started, to `session` unchanged; its promise settles with
   * the outcome there. One whose execute() or run() has finished meanwhile (timed out,
   * aborted) is not run for nobody: it rejects.
   */
  sendTo(session) {
    if (this.owner?.closed) {
      this.reject(new WasmPoolError(`${this.name} was not sent again: its execute() or run() had finished`,
        { code: 'ERR_WASM_CALL_OUTSIDE_EXECUTE' }));
      return;
    }
    const limits = { hangTimeoutMs: this.hangTimeoutMs };
    const resent = this.job ? session.runJob(this.job.url, this.job.input, this.owner, limits)
      : session.call(this.name, this.args, this.owner, limits);
    // Settled, and counted, by the session it went to.
    resent.then(this.#resolve, this.#reject);
  }
}

export class PendingCalls {
  #calls = new Map(); // id -> PendingCall, in sending order
  #counted;

  /** @param {(ok: boolean) => void} [counted] told each call's outcome (stats) */
  constructor(counted = null) {
    this.#counted = counted;
  }

  get size() {
    return this.#calls.size;
  }

  /** Adds the call sent as `id`; returns the promise of its outcome. */
  add(id, call) {
    return new Promise((resolve, reject) => {
      this.#calls.set(id, new PendingCall(call, resolve, reject, this.#counted));
    });
  }

  has(id) {
    return this.#calls.has(id);
  }

  get(id) {
    return this.#calls.get(id);
  }

  /** Removes and returns the call `id` (undefined if it was settled otherwise). */
  take(id) {
    const call = this.#calls.get(id);
    this.#calls.delete(id);
    return call;
  }

  /** The call the host runs now, or will run next. */
  oldest() {
    return this.#calls.values().next().value;
  }

  /** The hang timeout in force: the running call's own, else `fallback`. */
  hangTimeoutMs(fallback) {
    return this.oldest()?.hangTimeoutMs ?? fallback;
  }

  /**
   * Rejects and forgets `owner`'s calls. `cancelQueued(id)` is told each one the host has
   * not started, so it skips them. Returns whether one of them is the call the host runs
   * now: that one cannot be interrupted, only stopped by replacing the host.
   */
  abandon(owner, error, cancelQueued) {
    const oldest = this.oldest();
    const running = oldest !== undefined && oldest.owner === owner;
    for (const [id, call] of this.#calls) {
      if (call.owner !== owner) continue;
      this.#calls.delete(id);
      if (call !== oldest) cancelQueued(id);
      call.reject(error);
    }
    return running;
  }

  /** Removes and returns every call, in sending order. */
  takeAll() {
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    return calls;
  }

  /**
   * Empties the table after the host ended with `error`. With `handBack` (a fault), the call
   * that was running (`runningId`, as the host marked it), the other calls of its owner
   * (their pointers are in the dead memory) and calls whose input was moved reject with
   * `error`; every other call never started and is returned, to go to the replacement.
   * Without it (a shutdown) every call rejects.
   */
  endWith(error, { handBack, runningId }) {
    const running = this.#calls.get(runningId);
    const handedBack = [];
    for (const call of this.takeAll()) {
      const doomed = !handBack || call === running || (running !== undefined && call.owner === running.owner) ||
        call.transferred;
      if (doomed) call.reject(error);
      else handedBack.push(call);
    }
    return handedBack;
  }
}
