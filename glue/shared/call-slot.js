// The call slot: one call at a time through a SharedArrayBuffer instead of postMessage.
//
// On a 2-core VM the cost of a postMessage round trip is not the message, it is waking the
// sleeping thread at each end (tens of microseconds each). When main has no call in
// flight it writes the next one here and notifies; the host, which spins for a bounded
// SPIN_MS after each call before it goes back to its event loop, picks it up within
// microseconds, writes the result back and notifies; main waits with Atomics.waitAsync,
// which never blocks its event loop. Everything else (calls while another is in flight,
// payloads over the slot's capacity, jobs, control messages) keeps using postMessage; the
// host reads the slot before it queues any message, so the two paths keep the calls'
// order.
//
// Layout (Int32 words, then two byte areas):
//   0 REQUEST_SEQ   +1 by main after writing a request
//   1 RESPONSE_SEQ  +1 by the host after answering one (here, or by message: see below)
//   2 REQUEST_ID, 3 REQUEST_LENGTH
//   4 RESPONSE_ID, 5 RESPONSE_LENGTH, 6 RESPONSE_KIND (0: a result in the response area;
//     1: answered by postMessage, or released because the host is gone)
//   7 RUNNING_ID    the id of the call or job the host is running (slot or message), 0
//     between them; left as it is when the instance dies in a call, so main can tell the
//     call that was running from the ones that never started.
//   then CAPACITY bytes of request (v8.serialize({ name, args })), CAPACITY of response.
// Each side writes the fields before the Atomics.add of its sequence word and the other
// reads them after an Atomics.load that saw the change: Atomics operations are
// sequentially consistent, so the bytes written before are visible.
import { deserialize, serialize } from 'node:v8';

export const CAPACITY = 4096;
const HEADER_BYTES = 64;
const REQUEST_SEQ = 0;
const RESPONSE_SEQ = 1;
const REQUEST_ID = 2;
const REQUEST_LENGTH = 3;
const RESPONSE_ID = 4;
const RESPONSE_LENGTH = 5;
const RESPONSE_KIND = 6;
const RUNNING_ID = 7;
export const RESPONSE_IN_SLOT = 0;
export const RESPONSE_BY_MESSAGE = 1;
/** How long the host keeps looking for the next call after finishing one. */
export const SPIN_MS = 0.05;

export function createCallSlot() {
  return new SharedArrayBuffer(HEADER_BYTES + 2 * CAPACITY);
}

function views(buffer) {
  return {
    words: new Int32Array(buffer, 0, HEADER_BYTES / 4),
    request: new Uint8Array(buffer, HEADER_BYTES, CAPACITY),
    response: new Uint8Array(buffer, HEADER_BYTES + CAPACITY, CAPACITY),
  };
}

/** Main's end. */
export class CallSlotClient {
  #words;
  #request;
  #response;

  constructor(buffer) {
    ({ words: this.#words, request: this.#request, response: this.#response } = views(buffer));
  }

  /**
   * Writes the call if it fits; returns a Promise of the host's answer ({ id, kind, value })
   * or null when the call must go by postMessage.
   */
  send(id, name, args) {
    let bytes;
    try {
      bytes = serialize({ name, args });
    } catch {
      return null; // postMessage reports what cannot be cloned
    }
    if (bytes.length > CAPACITY) return null;
    const answered = Atomics.load(this.#words, RESPONSE_SEQ);
    this.#request.set(bytes);
    Atomics.store(this.#words, REQUEST_LENGTH, bytes.length);
    Atomics.store(this.#words, REQUEST_ID, id);
    Atomics.add(this.#words, REQUEST_SEQ, 1);
    Atomics.notify(this.#words, REQUEST_SEQ, 1);
    const wait = Atomics.waitAsync(this.#words, RESPONSE_SEQ, answered);
    const read = () => this.#read();
    return wait.async ? wait.value.then(read) : Promise.resolve().then(read);
  }

  #read() {
    const id = Atomics.load(this.#words, RESPONSE_ID);
    const kind = Atomics.load(this.#words, RESPONSE_KIND);
    if (kind !== RESPONSE_IN_SLOT) return { id, kind };
    const length = Atomics.load(this.#words, RESPONSE_LENGTH);
    return { id, kind, value: deserialize(this.#response.subarray(0, length)) };
  }

  /** The id of the call the host is running, or 0 when it runs none. */
  running() {
    return Atomics.load(this.#words, RUNNING_ID);
  }

  /** Releases a waiter when the host is gone (its answer will never come). */
  release() {
    Atomics.store(this.#words, RESPONSE_KIND, RESPONSE_BY_MESSAGE);
    Atomics.store(this.#words, RESPONSE_ID, 0);
    Atomics.add(this.#words, RESPONSE_SEQ, 1);
    Atomics.notify(this.#words, RESPONSE_SEQ);
  }
}

/** The host's end. */
export class CallSlotServer {
  #words;
  #request;
  #response;
  #seen;

  constructor(buffer) {
    ({ words: this.#words, request: this.#request, response: this.#response } = views(buffer));
    this.#seen = Atomics.load(this.#words, REQUEST_SEQ);
  }

  /** The waiting call, as { id, name, args }, or null. */
  take() {
    if (Atomics.load(this.#words, REQUEST_SEQ) === this.#seen) return null;
    this.#seen++;
    const length = Atomics.load(this.#words, REQUEST_LENGTH);
    const id = Atomics.load(this.#words, REQUEST_ID);
    const { name, args } = deserialize(this.#request.subarray(0, length));
    return { id, name, args };
  }

  /** Spins up to SPIN_MS for a call; returns it, or null. */
  spinForCall() {
    const until = performance.now() + SPIN_MS;
    do {
      const call = this.take();
      if (call) return call;
    } while (performance.now() < until);
    return null;
  }

  /** Resolves when main may have written a call (the slot changed since it was last read). */
  changed() {
    const wait = Atomics.waitAsync(this.#words, REQUEST_SEQ, this.#seen);
    return wait.async ? wait.value : Promise.resolve();
  }

  /**
   * Answers call `id` in the slot if the value can be serialized and fits; false otherwise
   * (the caller answers by postMessage, then calls answeredByMessage()).
   */
  answer(id, value) {
    let bytes;
    try {
      bytes = serialize(value);
    } catch {
      return false;
    }
    if (bytes.length > CAPACITY) return false;
    this.#response.set(bytes);
    Atomics.store(this.#words, RESPONSE_LENGTH, bytes.length);
    this.#publish(id, RESPONSE_IN_SLOT);
    return true;
  }

  /** Records the call the host runs now (0: none). */
  markRunning(id) {
    Atomics.store(this.#words, RUNNING_ID, id);
  }

  /** Tells main's waiter that call `id` was answered by postMessage. */
  answeredByMessage(id) {
    this.#publish(id, RESPONSE_BY_MESSAGE);
  }

  #publish(id, kind) {
    Atomics.store(this.#words, RESPONSE_KIND, kind);
    Atomics.store(this.#words, RESPONSE_ID, id);
    Atomics.add(this.#words, RESPONSE_SEQ, 1);
    Atomics.notify(this.#words, RESPONSE_SEQ, 1);
  }
}
