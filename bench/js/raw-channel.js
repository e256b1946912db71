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
  // Ring of slots: ids[i] and resolvers[i] from #head on, #count of them (a power-of-two size).
  #ids = new Float64Array(64);
  #resolvers = new Array(64).fill(undefined);
  #head = 0;
  #count = 0;
  #nextId = 0;

  constructor() {
    this.#worker = new Worker(new URL('./workers/raw-echo.js', import.meta.url));
    this.#worker.on('message', (message) => {
      const at = this.#head;
      if (this.#count === 0 || this.#ids[at] !== message.id) {
        console.error(`raw channel: answer ${message.id} out of order`); // the echo worker answers in order
        return;
      }
      const resolve = this.#resolvers[at];
      this.#resolvers[at] = undefined;
      this.#head = (at + 1) & (this.#resolvers.length - 1);
      this.#count--;
      resolve(message.value);
    });
  }

  call(name, args) {
    const id = ++this.#nextId;
    this.#worker.postMessage({ type: 'call', id, name, args });
    return new Promise((resolve) => {
      if (this.#count === this.#resolvers.length) this.#grow();
      const at = (this.#head + this.#count) & (this.#resolvers.length - 1);
      this.#ids[at] = id;
      this.#resolvers[at] = resolve;
      this.#count++;
    });
  }

  #grow() {
    const size = this.#resolvers.length;
    const ids = new Float64Array(size * 2);
    const resolvers = new Array(size * 2).fill(undefined);
    for (let i = 0; i < this.#count; i++) {
      ids[i] = this.#ids[(this.#head + i) & (size - 1)];
      resolvers[i] = this.#resolvers[(this.#head + i) & (size - 1)];
    }
    this.#ids = ids;
    this.#resolvers = resolvers;
    this.#head = 0;
  }

  async close() {
    await this.#worker.terminate();
  }
}
