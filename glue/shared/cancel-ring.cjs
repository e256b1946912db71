// The cancel ring: ids of calls main abandoned (their execute() timed out or was aborted)
// while they were still queued in the host. The host is busy with an earlier call and
// reads no messages until it returns, so main writes these ids into shared memory instead;
// the host reads the ring before it starts each call or job, and skips the ones it finds.
//
// Layout (Uint32 words):
//   0 WRITTEN        how many ids main has written in all (modulo 2^32)
//   1..CAPACITY      the ids: the n-th written is at entry(n), 1 + n % CAPACITY
// CAPACITY is a power of two, so n % CAPACITY carries on unbroken where the count wraps
// past 2^32 - 1 to 0.
//
// Memory ordering: only main writes (CancelRingWriter), only the host reads
// (CancelRingReader). Main stores the id in its entry, then stores WRITTEN + 1; the host
// loads WRITTEN, then the entries below it. Atomics operations are sequentially
// consistent, so an entry counted in the WRITTEN the host saw holds its id.
//
// Falling behind: main does not wait for the host, which reads only between calls; while
// one call runs, main may write more ids than the ring holds, and the newest overwrite the
// oldest. A reader that finds more than CAPACITY unread skips to the last CAPACITY (and
// an entry may even be overwritten while it reads it, giving a newer id in place of an
// older one). Every id read is still one main cancelled; what can be lost is an old one,
// whose call then runs for nobody: main already rejected it and drops its answer (a result
// for an id it no longer waits for is ignored). Losing one costs time, never a wrong answer.
// An id main cancels just as its call starts (main could not know yet) is read and kept
// until asked for, which it never is: one number in a Set, rarely.

'use strict';

/** How many ids the ring keeps unread: a power of two (see above). */
const CAPACITY = 256;
const WRITTEN = 0;
const HEADER_WORDS = 1;

/** The ring's shared memory, made by main and given to the host with its workerData. */
function createCancelRing(capacity = CAPACITY) {
  if (!Number.isInteger(capacity) || capacity <= 0 || (capacity & (capacity - 1)) !== 0 || capacity > 2 ** 30) {
    throw new RangeError(`a cancel ring's capacity must be a power of two, got ${capacity}`);
  }
  return new SharedArrayBuffer(4 * (HEADER_WORDS + capacity));
}

function words(buffer) {
  return new Uint32Array(buffer);
}

function capacityOf(words) {
  return words.length - HEADER_WORDS;
}

// The one definition of where the n-th id lives.
function entry(n, capacity) {
  return HEADER_WORDS + (n % capacity);
}

/** Main's end. */
class CancelRingWriter {
  #words;

  constructor(buffer) {
    this.#words = words(buffer);
  }

  /** Tells the host not to run call `id` (a positive integer) if it has not started it. */
  cancel(id) {
    const written = Atomics.load(this.#words, WRITTEN);
    Atomics.store(this.#words, entry(written, capacityOf(this.#words)), id);
    Atomics.store(this.#words, WRITTEN, written + 1); // wraps to 0 past 2^32 - 1
  }
}

/** The host's end. */
class CancelRingReader {
  #words;
  #seen;
  // Ids read from the ring whose call has not been asked about yet.
  #cancelled = new Set();

  constructor(buffer) {
    this.#words = words(buffer);
    this.#seen = Atomics.load(this.#words, WRITTEN);
  }

  /** Whether main cancelled call `id`; true once per cancelled id. */
  wasCancelled(id) {
    this.#read();
    return this.#cancelled.delete(id);
  }

  #read() {
    const capacity = capacityOf(this.#words);
    const written = Atomics.load(this.#words, WRITTEN);
    let unread = (written - this.#seen) >>> 0;
    if (unread > capacity) unread = capacity; // the older ones were overwritten
    for (let n = (written - unread) >>> 0; n !== written; n = (n + 1) >>> 0) {
      this.#cancelled.add(Atomics.load(this.#words, entry(n, capacity)));
    }
    this.#seen = written;
  }
}

module.exports = { CAPACITY, createCancelRing, CancelRingWriter, CancelRingReader };
