// A raw postMessage channel between main and one bare worker: one message each way per
// call, the floor under any proxied call. Same message shapes as the manager and host use
// (see workers/raw-echo.js). The round trip drives it one call at a time (a ping-pong),
// throughput with the same 64 calls in flight as ours.
//
// The worker answers in the order it was called, so the calls waiting for an answer are a
// queue of slots, cleared as they are answered, not a Map keyed by id: a Map whose entries
// come and go this fast makes V8 keep every call alive through the scavenges once any full
// GC has run (glue/main/pending-calls.js), which halved this baseline's throughput at
// times and made it bimodal.
import { Worker } from 'node:worker_threads';

export class RawChannel {
  #worker;
  #waiting = []; // [id, resolve, id, resolve, ...] from #head on, in calling order
  #head = 0;
  #nextId = 0;

  constructor() {
    this.#worker = new Worker(new URL('./workers/raw-echo.js', import.meta.url));
    this.#worker.on('message', (message) => {
      const waiting = this.#waiting;
      if (waiting[this.#head] !== message.id) throw new Error(`raw channel: answer ${message.id} out of order`);
      const resolve = waiting[this.#head + 1];
      waiting[this.#head] = waiting[this.#head + 1] = undefined;
      this.#head += 2;
      if (this.#head === waiting.length) {
        waiting.length = 0;
        this.#head = 0;
      } else if (this.#head >= 1024) {
        waiting.splice(0, this.#head);
        this.#head = 0;
      }
      resolve(message.value);
    });
  }

  call(name, args) {
    const id = ++this.#nextId;
    this.#worker.postMessage({ type: 'call', id, name, args });
    return new Promise((resolve) => this.#waiting.push(id, resolve));
  }

  async close() {
    await this.#worker.terminate();
  }
}
