// Dispatcher: which host an execute() or run() occupies, and the queue in front of them.
//
// Each host has `perHost` places; an execute() or run() takes one for its whole duration
// (an execute's pointers live in that host's memory, so it never moves). A new one goes
// to the host with a free place and the fewest occupants, a ready host first. When no
// host has a free place it waits here, first in first out, at most `maxQueue` of them;
// past that it is refused at once with ERR_WASM_QUEUE_FULL. Piscina's
// concurrentTasksPerWorker and maxQueue are the model.
//
// A host being replaced after a fault ('replacing') is only given new work when no other
// host is ready: the ready ones free up in the time a replacement takes to start. A host
// that already has work and has been silent on its calls for a while (`stalled`: a long
// call, or a hang the watchdog has not called yet) gets no more until it answers (the
// manager pumps at every answer) or an occupant leaves: what would queue behind it waits
// on main for whichever host frees first, as with one place per host, while hosts that
// keep answering take up to `perHost` each and run their calls back to back.
// Work that waits honours its execute's signal and timeout: cancel() takes it out.
import { WasmPoolError } from './errors.js';

export class Dispatcher {
  #occupants;
  #perHost;
  #maxQueue;
  #stateOf;
  #stalled;
  #queue = [];

  /**
   * @param {object} o
   * @param {number} o.hosts
   * @param {number} o.perHost places per host (Infinity: no bound)
   * @param {number} o.maxQueue how many may wait (Infinity: no bound)
   * @param {(index: number) => string} o.stateOf the host's supervisor state
   * @param {(index: number) => boolean} [o.stalled] whether the host has been silent on its
   *   calls too long to queue more work behind them
   */
  constructor({ hosts, perHost, maxQueue, stateOf, stalled = () => false }) {
    this.#occupants = new Array(hosts).fill(0);
    this.#perHost = perHost;
    this.#maxQueue = maxQueue;
    this.#stateOf = stateOf;
    this.#stalled = stalled;
  }

  /** How many wait for a place. */
  get queued() {
    return this.#queue.length;
  }

  /** How many executes and runs occupy host `index`. */
  occupants(index) {
    return this.#occupants[index];
  }

  /**
   * A ticket for one execute() or run(): `ticket.granted` resolves to the host index when
   * it has a place. Throws ERR_WASM_QUEUE_FULL when it would have to wait and the queue
   * is full.
   */
  enqueue() {
    const ticket = { index: -1, done: false };
    ticket.granted = new Promise((resolve, reject) => {
      ticket.resolve = resolve;
      ticket.reject = reject;
    });
    ticket.granted.catch(() => {});
    const index = this.#pick();
    if (index >= 0) {
      this.#grant(ticket, index);
      return ticket;
    }
    if (this.#queue.length >= this.#maxQueue) {
      throw new WasmPoolError(
        `the queue is full: every host is busy and ${this.#maxQueue} execute()/run() calls already wait ` +
          '(options.maxQueue; raise it, or add hosts with options.hosts)',
        { code: 'ERR_WASM_QUEUE_FULL' },
      );
    }
    this.#queue.push(ticket);
    return ticket;
  }

  /**
   * The ticket's execute() finished, or stopped waiting (signal, timeout): its place is
   * freed, or it leaves the queue.
   */
  release(ticket) {
    if (ticket.done) return;
    ticket.done = true;
    if (ticket.index >= 0) {
      this.#occupants[ticket.index]--;
      this.pump();
      return;
    }
    const at = this.#queue.indexOf(ticket);
    if (at >= 0) this.#queue.splice(at, 1);
  }

  /** Gives free places to waiting work, in order (after a release, or a host became ready). */
  pump() {
    while (this.#queue.length > 0) {
      const index = this.#pick();
      if (index < 0) return;
      this.#grant(this.#queue.shift(), index);
    }
  }

  /** Rejects everything that waits (shutdown). */
  rejectQueued(error) {
    for (const ticket of this.#queue.splice(0)) {
      ticket.done = true;
      ticket.reject(error);
    }
  }

  #grant(ticket, index) {
    ticket.index = index;
    this.#occupants[index]++;
    ticket.resolve(index);
  }

  // The host with a free place and the fewest occupants, ready hosts first; -1 if none
  // should take work now.
  #pick() {
    let best = -1;
    let bestReady = false;
    let anyReady = false;
    for (let index = 0; index < this.#occupants.length; index++) {
      const ready = this.#stateOf(index) === 'ready';
      anyReady ||= ready;
      if (this.#occupants[index] >= this.#perHost) continue;
      if (this.#occupants[index] > 0 && this.#stalled(index)) continue;
      if (this.#stateOf(index) === 'replacing' && !ready) continue; // considered below
      if (best < 0 || (ready && !bestReady) || (ready === bestReady && this.#occupants[index] < this.#occupants[best])) {
        best = index;
        bestReady = ready;
      }
    }
    if (best >= 0) return best;
    if (anyReady) return -1; // a ready host will free a place before a replacement is up
    // Every host is being replaced (or full): take the replacing one with a free place.
    for (let index = 0; index < this.#occupants.length; index++) {
      if (this.#occupants[index] < this.#perHost) return index;
    }
    return -1;
  }
}
