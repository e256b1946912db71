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
   * @param {number} id the id it was sent as (ids grow in sending order)
   * @param {object} o
   * @param {string} o.name the export's name, or "the job <url>"
   * @param {unknown[]} [o.args] an export call's arguments
   * @param {{url: string, input: unknown}} [o.job] a job's module and input
   * @param {{closed?: boolean}} o.owner the execute() or run() it belongs to
   * @param {number} [o.hangTimeoutMs] the hang timeout while it runs (undefined: the session's)
   * @param {boolean} [o.transferred] its input was moved (transferList): it cannot be sent twice
   * @param {(ok: boolean) => void} [counted] told the outcome once, when this call settles here
   */
  constructor(id, { name, args, job, owner, hangTimeoutMs, transferred = false }, resolve, reject, counted = null) {
    this.id = id; // the id it was sent as
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

// The table is a ring of slots in sending order, not a Map. Ids only grow and the host answers
// in order, so the call answered is almost always the oldest slot; and a Map whose entries
// come and go at this rate rehashes into a new backing table every few dozen calls, each
// obsolete table keeping its old entries and a link to the next. Once one of those tables
// is old (any full GC promotes the young generation), every later table, and every call
// in it, survives the scavenges until the next full GC: with 64 calls in flight main then
// promoted ~2.3 MB per scavenge, ran a full GC every ~0.2 s and made half as many calls
// (docs/BENCHMARKS.md, 64 in flight). A slot is cleared when its call leaves, so nothing
// the table no longer holds stays reachable from it.
const FIRST_CAPACITY = 64; // a power of two
// An emptied ring this large goes back to FIRST_CAPACITY (a burst of queued calls ended).
const SHRINK_FROM = 4096;
const emptySlots = () => new Array(FIRST_CAPACITY).fill(undefined);

export class PendingCalls {
  #slots = emptySlots(); // PendingCall | undefined (a hole)
  #head = 0; // the oldest slot in use
  #used = 0; // slots in use from #head on, holes included (the newest is never a hole)
  #size = 0; // calls in the table
  #counted;

  /** @param {(ok: boolean) => void} [counted] told each call's outcome (stats) */
  constructor(counted = null) {
    this.#counted = counted;
  }

  get size() {
    return this.#size;
  }

  /** Adds the call sent as `id` (greater than every id added before); returns the promise of its outcome. */
  add(id, call) {
    return new Promise((resolve, reject) => {
      const entry = new PendingCall(id, call, resolve, reject, this.#counted);
      if (this.#used === this.#slots.length) this.#makeRoom();
      this.#slots[(this.#head + this.#used) & (this.#slots.length - 1)] = entry;
      this.#used++;
      this.#size++;
    });
  }

  has(id) {
    return this.#find(id) >= 0;
  }

  get(id) {
    const offset = this.#find(id);
    return offset < 0 ? undefined : this.#at(offset);
  }

  /** Removes and returns the call `id` (undefined if it was settled otherwise). */
  take(id) {
    const offset = this.#find(id);
    if (offset < 0) return undefined;
    const call = this.#at(offset);
    this.#remove(offset);
    return call;
  }

  /** The call the host runs now, or will run next. */
  oldest() {
    return this.#used === 0 ? undefined : this.#at(0);
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
    const doomed = [];
    for (let offset = this.#used - 1; offset >= 0; offset--) {
      const call = this.#at(offset);
      if (call === undefined || call.owner !== owner) continue;
      this.#remove(offset);
      doomed.push(call);
    }
    for (const call of doomed.reverse()) {
      if (call !== oldest) cancelQueued(call.id);
      call.reject(error);
    }
    return running;
  }

  /** Removes and returns every call, in sending order. */
  takeAll() {
    const calls = [];
    for (let offset = 0; offset < this.#used; offset++) {
      const call = this.#at(offset);
      if (call !== undefined) calls.push(call);
    }
    this.#slots = emptySlots();
    this.#head = 0;
    this.#used = 0;
    this.#size = 0;
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
    const running = this.get(runningId);
    const handedBack = [];
    for (const call of this.takeAll()) {
      const doomed = !handBack || call === running || (running !== undefined && call.owner === running.owner) ||
        call.transferred;
      if (doomed) call.reject(error);
      else handedBack.push(call);
    }
    return handedBack;
  }

  #at(offset) {
    return this.#slots[(this.#head + offset) & (this.#slots.length - 1)];
  }

  // The offset of call `id` from the oldest slot, or -1. Ids grow in sending order, so the
  // search ends at the first larger one; an answer is almost always for the oldest.
  #find(id) {
    for (let offset = 0; offset < this.#used; offset++) {
      const call = this.#at(offset);
      if (call === undefined) continue;
      if (call.id === id) return offset;
      if (call.id > id) return -1;
    }
    return -1;
  }

  // Clears the slot at `offset`; holes at either end leave the ring.
  #remove(offset) {
    const mask = this.#slots.length - 1;
    this.#slots[(this.#head + offset) & mask] = undefined;
    this.#size--;
    while (this.#used > 0 && this.#slots[this.#head] === undefined) {
      this.#head = (this.#head + 1) & mask;
      this.#used--;
    }
    while (this.#used > 0 && this.#slots[(this.#head + this.#used - 1) & mask] === undefined) this.#used--;
    if (this.#used === 0) {
      this.#head = 0;
      if (this.#slots.length >= SHRINK_FROM) this.#slots = emptySlots();
    }
  }

  // The ring is full: its calls move to the front of a new ring, holes left out (calls
  // answered out of order or abandoned behind an older one that is still pending: with a
  // long call at the head, a server's timed-out executes would otherwise keep the ring
  // growing). Twice the size unless holes were half of it or more.
  #makeRoom() {
    const capacity = this.#size * 2 <= this.#slots.length ? this.#slots.length : this.#slots.length * 2;
    const slots = new Array(capacity).fill(undefined);
    let used = 0;
    for (let offset = 0; offset < this.#used; offset++) {
      const call = this.#at(offset);
      if (call !== undefined) slots[used++] = call;
    }
    this.#slots = slots;
    this.#head = 0;
    this.#used = used;
  }
}
