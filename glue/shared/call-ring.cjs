// The call rings: every call and job main sends, and every answer that fits, go through
// two single-producer single-consumer byte rings in one SharedArrayBuffer, instead of a
// postMessage each.
//
// Why: on a 2-core VM a postMessage costs little; what costs is waking the thread at the
// other end (an event-loop turn each side, tens of microseconds), and a structured clone
// per message. With rings:
//   - one call at a time: main writes the call, the host (spinning for a bounded
//     SPIN_MS after its last call while that keeps paying off or main's own spin found
//     its last answer (MAIN_SPINS), then blocked in
//     Atomics.wait slices for a while:
//     host-runtime.cjs) takes it within microseconds, writes the answer, and main, which
//     spins a little too (MAIN_SPIN_MS, while that keeps paying off), reads it without an
//     event-loop turn on either side;
//   - many calls in flight: main writes them as they come; the host runs them back to
//     back and writes each answer as it finishes; main reads every answer there is at
//     each wake-up. A side is woken (Atomics.notify) only when it said it sleeps
//     (MAIN_WAITING / HOST_WAITING), and at most once per sleep, so a busy pair
//     exchanges no wake-ups at all;
//   - an answer in the ring is never lost with the host: the buffer is main's, so after a
//     crash main still reads the answers of calls that finished before it.
//
// What does not fit in an entry (a large or uncloneable request, a job, which may move
// its input) goes by postMessage on the request port (a MessageChannel main made) and
// leaves a BY_PORT entry in its place: the host reads the port's next message when it
// reaches that entry (receiveMessageOnPort), so calls keep one order whichever way they
// travel. Answers that do not fit (errors, large or uncloneable results) go by message
// on the output channel; main reads both in one pass and settles them in id order
// (host-session.js, #takeAnswers; answersMark() says why the mark comes first).
//
// Layout: HEADER_BYTES of Int32 words (one per cache line), then the request ring, then
// the answer ring, each RING_BYTES. Each ring has a head (bytes ever written, by its producer) and a tail
// (bytes ever consumed, by its consumer); both wrap modulo 2^32, and RING_BYTES is a
// power of two, so `head & MASK` is the position and `head - tail` the bytes in use.
// Entries are 8-byte aligned and never straddle the end (a PAD entry fills the rest):
//   Int32 length (bytes, the whole entry), Int32 kind, Int32 id, Int32 a, then payload.
// A producer writes the entry, then Atomics.store()s its head; a consumer Atomics.load()s
// the head, reads the entry, then Atomics.store()s its tail. Atomics are sequentially
// consistent, so what was written before a store is visible after the load that sees it.
'use strict';

const { deserialize, serialize } = require('node:v8');

const RING_BYTES = 1 << 16;
const MASK = RING_BYTES - 1;
// Each header word has a 64-byte cache line of its own: a side spinning on one word must
// not slow down the other side's writes to its neighbours.
const LINE_WORDS = 16;
const HEADER_BYTES = 8 * LINE_WORDS * 4;
const ENTRY_HEADER = 16;
/** Largest structured-clone payload an entry carries; larger ones go by message. */
const MAX_CLONE = RING_BYTES / 4;
const MAX_NUMBERS = 64;

// Words.
const REQUEST_HEAD = 0 * LINE_WORDS;
const REQUEST_TAIL = 1 * LINE_WORDS;
const ANSWER_HEAD = 2 * LINE_WORDS;
const ANSWER_TAIL = 3 * LINE_WORDS;
const RUNNING_ID = 4 * LINE_WORDS; // the call or job the host runs now, 0 between; left when the instance dies in it
const MAIN_WAITING = 5 * LINE_WORDS; // 1: main sleeps on ANSWER_HEAD and wants a notify
const HOST_WAITING = 6 * LINE_WORDS; // 1: the host sleeps on REQUEST_HEAD and wants a notify
const MAIN_SPINS = 7 * LINE_WORDS; // 1: main found the answer it last waited for by spinning (a hint)
/**
 * Where the two waiting flags are (Int32 indices into the rings' buffer), for tests that
 * lose a wake-up on purpose: clearing a flag before the other side writes makes it skip
 * its notify, as a lost wake-up would.
 */
const WAITING_FLAGS = Object.freeze({ main: MAIN_WAITING, host: HOST_WAITING });

// Entry kinds.
const PAD = 0;
const CALL_NUMBERS = 1; // a = export number, then Int32 count, pad, float64 args at 24
const CALL_CLONE = 2; // a = byte length of v8.serialize({ name, args, introduce? })
const BY_PORT = 3; // the request port's next message is this call or job
const RESULT_NUMBER = 4; // float64 at 16
const RESULT_NOTHING = 5; // undefined
const RESULT_CLONE = 6; // a = byte length of v8.serialize(value)

/** How long the host keeps looking for the next call after its queue emptied. */
const SPIN_MS = 0.05;
/** How long main looks for answers before it sleeps on them. */
const MAIN_SPIN_MS = 0.05;

function createCallRings() {
  return new SharedArrayBuffer(HEADER_BYTES + 2 * RING_BYTES);
}

const align8 = (n) => (n + 7) & ~7;

// One direction: its producer's or consumer's end.
class Ring {
  #words;
  #headWord;
  #tailWord;
  #mine; // the counter this end moves (head or tail), kept locally: only this end writes it
  i32;
  f64;
  u8;

  constructor(buffer, offset, headWord, tailWord, producer) {
    this.#words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#headWord = headWord;
    this.#tailWord = tailWord;
    this.#mine = Atomics.load(this.#words, producer ? headWord : tailWord);
    this.i32 = new Int32Array(buffer, offset, RING_BYTES / 4);
    this.f64 = new Float64Array(buffer, offset, RING_BYTES / 8);
    this.u8 = new Uint8Array(buffer, offset, RING_BYTES);
  }

  // Producer: the position of a free entry of `bytes` (8-aligned), or -1 when the ring has
  // no room. Passing the end writes a PAD entry first.
  reserve(bytes) {
    const pos = this.#mine & MASK;
    const toEnd = RING_BYTES - pos;
    const need = toEnd < bytes ? toEnd + bytes : bytes;
    const used = (this.#mine - Atomics.load(this.#words, this.#tailWord)) | 0;
    if (RING_BYTES - used < need) return -1;
    if (toEnd < bytes) {
      this.i32[pos >> 2] = toEnd;
      this.i32[(pos >> 2) + 1] = PAD;
      this.#mine = (this.#mine + toEnd) | 0;
      return 0;
    }
    return pos;
  }

  // Producer: reserves an entry of `bytes` and writes its header; returns its position
  // (write the payload, then commit(bytes)), or -1 when the ring has no room.
  open(bytes, kind, id, a = 0) {
    const pos = this.reserve(bytes);
    if (pos < 0) return -1;
    const w = pos >> 2;
    this.i32[w] = bytes;
    this.i32[w + 1] = kind;
    this.i32[w + 2] = id;
    this.i32[w + 3] = a;
    return pos;
  }

  // Producer: publishes the entry written at the reserved position.
  commit(bytes) {
    this.#mine = (this.#mine + bytes) | 0;
    Atomics.store(this.#words, this.#headWord, this.#mine);
  }

  // Consumer: the position of the next entry before `upTo` (PADs skipped), or -1 when there
  // is none. `upTo` may lie behind what was consumed already (a reader re-entered while an
  // outer one held an older mark): the counters wrap, so it compares their distance.
  peek(upTo = Atomics.load(this.#words, this.#headWord)) {
    for (;;) {
      if (((upTo - this.#mine) | 0) <= 0) return -1;
      const pos = this.#mine & MASK;
      if (this.i32[(pos >> 2) + 1] !== PAD) return pos;
      this.release(pos);
    }
  }

  // Consumer: frees the entry at `pos` (read everything needed first).
  release(pos) {
    this.#mine = (this.#mine + this.i32[pos >> 2]) | 0;
    Atomics.store(this.#words, this.#tailWord, this.#mine);
  }

  /** The producer's head now (entries before it are readable). */
  get head() {
    return Atomics.load(this.#words, this.#headWord);
  }

  /** The consumer's tail now (entries before it are consumed). */
  get tail() {
    return Atomics.load(this.#words, this.#tailWord);
  }

  /** Consumer: whether an entry is waiting. */
  get ready() {
    return Atomics.load(this.#words, this.#headWord) !== this.#mine;
  }

  /** Consumer: the head value this end has consumed up to (what a sleeper waits on). */
  get consumed() {
    return this.#mine;
  }
}

// A value whose clone is sure to exceed MAX_CLONE, told without serializing it (a 100 MB
// typed array would otherwise be serialized once for nothing before it goes by message).
function clearlyTooLarge(value) {
  if (typeof value === 'string') return value.length > MAX_CLONE;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    return value.byteLength > MAX_CLONE;
  }
  return false;
}

function allNumbers(args) {
  if (args.length > MAX_NUMBERS) return false;
  for (let i = 0; i < args.length; i++) if (typeof args[i] !== 'number') return false;
  return true;
}

// Wakes the other side if it sleeps, once per sleep (it re-arms when it wakes). Every
// waiter on the head, not one: only the other side waits there, but a wait whose wake-up
// was lost stays registered beside the one that side armed after it (abandonWait(), the
// host's poll), and a notify of one goes to the oldest, which nobody counts on any more.
function wake(words, flag, head) {
  if (Atomics.load(words, flag) === 1 && Atomics.compareExchange(words, flag, 1, 0) === 1) {
    Atomics.notify(words, head);
  }
}

// Spins until `ready()` or `ms` passed; reads the clock every 64 turns (it costs more than
// a turn).
function spinUntil(ready, ms) {
  const until = performance.now() + ms;
  for (let i = 1; !ready(); i++) {
    if ((i & 63) === 0 && performance.now() > until) return ready();
  }
  return true;
}

// A spin that stops while it does not pay: after a spin that found nothing, only one try
// in 16 spins, until one finds something again. spin() returns whether it found `ready()`,
// or null when it skipped the spin.
// `always`: spin this time whatever the last spins found.
class AdaptiveSpin {
  #pays = true;
  #sinceSpin = 0;

  spin(ready, ms, always = false) {
    if (!always && !this.#pays && (++this.#sinceSpin & 15) !== 0) return null;
    this.#pays = spinUntil(ready, ms);
    return this.#pays;
  }
}

/** Main's end. */
class CallRingClient {
  #words;
  #requests;
  #answers;
  /** export name -> its number, once the host was told it. */
  #names = new Map();
  #spin = new AdaptiveSpin();
  #armed = false;
  #waits = 0; // waits armed so far: a wait's end disarms only if it is still the latest

  constructor(buffer) {
    this.#words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#requests = new Ring(buffer, HEADER_BYTES, REQUEST_HEAD, REQUEST_TAIL, true);
    this.#answers = new Ring(buffer, HEADER_BYTES + RING_BYTES, ANSWER_HEAD, ANSWER_TAIL, false);
  }

  /**
   * Writes call `id` into the ring. Returns 'sent'; 'full' when the ring has no room now
   * (try again after answers came); or 'message' when it must go by message (send it, then
   * sendByPort(id)).
   */
  sendCall(id, name, args) {
    const numbers = allNumbers(args);
    const number = numbers ? this.#names.get(name) : undefined;
    const ring = this.#requests;
    if (number !== undefined) {
      const bytes = 24 + 8 * args.length;
      const pos = ring.open(bytes, CALL_NUMBERS, id, number);
      if (pos < 0) return 'full';
      ring.i32[(pos >> 2) + 4] = args.length;
      ring.f64.set(args, (pos + 24) >> 3);
      return this.#publish(bytes);
    }
    // An export seen for the first time (with number arguments) is numbered here; the
    // number travels with this call and names it from then on.
    const introduce = numbers ? this.#names.size + 1 : 0;
    if (!numbers && args.some(clearlyTooLarge)) return 'message';
    let payload;
    try {
      payload = serialize(introduce ? { name, args, introduce } : { name, args });
    } catch {
      return 'message'; // postMessage reports what cannot be cloned
    }
    if (payload.length > MAX_CLONE) return 'message';
    const bytes = align8(ENTRY_HEADER + payload.length);
    const pos = ring.open(bytes, CALL_CLONE, id, payload.length);
    if (pos < 0) return 'full';
    if (introduce) this.#names.set(name, introduce);
    ring.u8.set(payload, pos + ENTRY_HEADER);
    return this.#publish(bytes);
  }

  /** Marks the place of call or job `id`, sent on the request port. false: no room now. */
  sendByPort(id) {
    if (this.#requests.open(ENTRY_HEADER, BY_PORT, id) < 0) return false;
    this.#publish(ENTRY_HEADER);
    return true;
  }

  #publish(bytes) {
    this.#requests.commit(bytes);
    wake(this.#words, HOST_WAITING, REQUEST_HEAD);
    return 'sent';
  }

  /**
   * Where the answers written so far end: takeAnswers(fn, mark) reads up to there. Main
   * takes the mark, then drains the output channel and the threads' ports, then reads the
   * answers: whatever a call printed was posted before its answer was written, so it is
   * drained by then. (Draining first and reading after would let an answer written in
   * between overtake its last lines.)
   */
  answersMark() {
    return this.#answers.head;
  }

  /**
   * Calls fn(id, value) for every answer in the ring up to `mark` (all there are by
   * default), in order; returns how many.
   */
  takeAnswers(fn, mark = this.#answers.head) {
    const ring = this.#answers;
    let n = 0;
    for (let pos = ring.peek(mark); pos >= 0; pos = ring.peek(mark)) {
      const w = pos >> 2;
      const id = ring.i32[w + 2];
      let value;
      switch (ring.i32[w + 1]) {
        case RESULT_NUMBER:
          value = ring.f64[(pos + ENTRY_HEADER) >> 3];
          break;
        case RESULT_CLONE:
          value = deserialize(ring.u8.subarray(pos + ENTRY_HEADER, pos + ENTRY_HEADER + ring.i32[w + 3]));
          break;
        default:
          value = undefined;
      }
      ring.release(pos);
      n++;
      fn(id, value);
    }
    return n;
  }

  /**
   * After a call made with nothing in flight: looks for its answer for up to MAIN_SPIN_MS,
   * as long as that keeps paying off (otherwise one try in 16). Returns whether an answer
   * is there.
   */
  spinForAnswer() {
    const found = this.#spin.spin(() => this.#answers.ready, MAIN_SPIN_MS) === true;
    Atomics.store(this.#words, MAIN_SPINS, found ? 1 : 0);
    return found;
  }

  /**
   * Resolves when answers may be in the ring: at once if some are, else at the host's
   * notify. One wait at a time (a second call while one is armed returns null).
   */
  waitForAnswers() {
    if (this.#armed) return null;
    Atomics.store(this.#words, MAIN_SPINS, 0);
    Atomics.store(this.#words, MAIN_WAITING, 1);
    const wait = Atomics.waitAsync(this.#words, ANSWER_HEAD, this.#answers.consumed);
    this.#armed = true;
    const armed = ++this.#waits;
    const done = () => {
      if (this.#waits === armed) this.#armed = false;
    };
    if (!wait.async) {
      // Answers came meanwhile: main does not sleep, so the host need not notify it. The
      // wait stays armed until its reader runs (a microtask): calls sent before then, in
      // this same turn, are answered by that one read, not each by a wait and a read of its
      // own (at 64 in flight, one per call: ~30% of main's time per call).
      Atomics.store(this.#words, MAIN_WAITING, 0);
      return Promise.resolve().then(done);
    }
    return wait.value.then(done);
  }

  /**
   * Forgets the armed wait: answers were found unread while it slept (host-session.js,
   * #lookForMissedWakeUps), so its wake-up was lost, and it may never resolve. Kept armed,
   * it would stand for every later wait (one at a time), each answer then waiting for the
   * net: one lost wake-up made every later call of a pipelined caller ~1000x slower.
   * The next waitForAnswers() arms a new one; the forgotten one, if it resolves after all,
   * settles nothing of the new one's.
   */
  abandonWait() {
    if (!this.#armed) return;
    this.#armed = false;
    this.#waits++;
  }

  /**
   * How far the host has taken requests (the request ring's tail): while requests wait
   * untaken (requestsWaiting) and the host runs nothing, a mark that does not move means
   * its wake-up was lost (host-session.js).
   */
  requestsMark() {
    return this.#requests.tail;
  }

  /** Whether requests are in the ring that the host has not taken. */
  get requestsWaiting() {
    return this.#requests.tail !== this.#requests.head;
  }

  /** Whether answers are in the ring, unread (host-session.js looks while calls are pending). */
  get answersWaiting() {
    return this.#answers.ready;
  }

  /** The id of the call or job the host is running, or 0 when it runs none. */
  running() {
    return Atomics.load(this.#words, RUNNING_ID);
  }

  /** Releases main's wait when the host is gone (nothing more will be written). */
  release() {
    Atomics.store(this.#words, MAIN_WAITING, 0);
    Atomics.notify(this.#words, ANSWER_HEAD);
  }
}

/** The host's end. */
class CallRingServer {
  #words;
  #requests;
  #answers;
  /** The exports main numbered: number -> name. */
  #names = [];
  #spin = new AdaptiveSpin();

  constructor(buffer) {
    this.#words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#requests = new Ring(buffer, HEADER_BYTES, REQUEST_HEAD, REQUEST_TAIL, false);
    this.#answers = new Ring(buffer, HEADER_BYTES + RING_BYTES, ANSWER_HEAD, ANSWER_TAIL, true);
  }

  /**
   * The next request: { id, name, args } for a call in the ring, { id, byPort: true } for
   * one on the request port; null when there is none.
   */
  take() {
    const ring = this.#requests;
    const pos = ring.peek();
    if (pos < 0) return null;
    const w = pos >> 2;
    const id = ring.i32[w + 2];
    let request;
    switch (ring.i32[w + 1]) {
      case CALL_NUMBERS: {
        const first = (pos + 24) >> 3;
        request = { id, name: this.#names[ring.i32[w + 3]],
          args: Array.from(ring.f64.subarray(first, first + ring.i32[w + 4])) };
        break;
      }
      case CALL_CLONE: {
        const { name, args, introduce } = deserialize(ring.u8.subarray(pos + ENTRY_HEADER,
          pos + ENTRY_HEADER + ring.i32[w + 3]));
        if (introduce) this.#names[introduce] = name;
        request = { id, name, args };
        break;
      }
      default:
        request = { id, byPort: true };
    }
    ring.release(pos);
    return request;
  }

  /** Whether a request is in the ring, not taken yet (HostRuntime.poll looks). */
  get requestWaiting() {
    return this.#requests.ready;
  }

  /**
   * Spins up to SPIN_MS for a request, as long as that keeps paying off (otherwise one try
   * in 16); returns whether one is there. A spin that does not pay takes a core from the
   * threads that have work: under a server's load on 2 cores, with two hosts and their
   * pool threads, spinning after every call cost 10-20% of the throughput (serve-load.js).
   */
  spinForRequest() {
    // A caller whose last answer main found by spinning makes its next call as soon as it
    // has it: spin for it even after spins that found nothing. Without this the two
    // adaptive spins could hold each other off: a host that does not spin is woken for
    // every call, so its answers come too late for main's spin, so main does not spin
    // either, and its calls come too late for the host's one try in 16 (rounds of the
    // bench's sequential calls at 3-6.5 us among rounds at ~2.2).
    const mainSpins = Atomics.load(this.#words, MAIN_SPINS) === 1;
    return this.#spin.spin(() => this.#requests.ready, SPIN_MS, mainSpins) ?? this.#requests.ready;
  }

  /**
   * Blocks this thread up to `ms` for a request (Atomics.wait: main's notify wakes it
   * directly, without an event-loop turn); returns whether one is there.
   */
  blockForRequest(ms) {
    Atomics.store(this.#words, HOST_WAITING, 1);
    Atomics.wait(this.#words, REQUEST_HEAD, this.#requests.consumed, ms);
    Atomics.store(this.#words, HOST_WAITING, 0);
    return this.#requests.ready;
  }

  /**
   * Ends this end's wait for requests (requested()): a pending Atomics.waitAsync keeps its
   * promise, and all its callback holds, until notified.
   */
  release() {
    Atomics.notify(this.#words, REQUEST_HEAD);
  }

  /** Resolves when main may have written a request (at once if one is there). */
  requested() {
    Atomics.store(this.#words, HOST_WAITING, 1);
    const wait = Atomics.waitAsync(this.#words, REQUEST_HEAD, this.#requests.consumed);
    return wait.async ? wait.value : Promise.resolve();
  }

  /**
   * Writes the answer of call `id` if it is a number, undefined or a small clone and the
   * ring has room; false otherwise (the caller answers by message).
   */
  answer(id, value) {
    const ring = this.#answers;
    let kind = RESULT_NOTHING;
    let payload = null;
    let bytes = ENTRY_HEADER;
    if (typeof value === 'number') {
      kind = RESULT_NUMBER;
      bytes = ENTRY_HEADER + 8;
    } else if (value !== undefined) {
      if (clearlyTooLarge(value)) return false;
      try {
        payload = serialize(value);
      } catch {
        return false;
      }
      if (payload.length > MAX_CLONE) return false;
      kind = RESULT_CLONE;
      bytes = align8(ENTRY_HEADER + payload.length);
    }
    const pos = ring.open(bytes, kind, id, payload ? payload.length : 0);
    if (pos < 0) return false;
    if (kind === RESULT_NUMBER) ring.f64[(pos + ENTRY_HEADER) >> 3] = value;
    if (payload) ring.u8.set(payload, pos + ENTRY_HEADER);
    ring.commit(bytes);
    wake(this.#words, MAIN_WAITING, ANSWER_HEAD);
    return true;
  }

  /** Records the call or job the host runs now (0: none). */
  markRunning(id) {
    Atomics.store(this.#words, RUNNING_ID, id);
  }
}

module.exports = { MAX_CLONE, WAITING_FLAGS, SPIN_MS, MAIN_SPIN_MS, createCallRings, CallRingClient, CallRingServer };
