// A raw postMessage channel between main and one bare worker: one message each way per
// call, the floor under any proxied call. Same message shapes as the manager and host use
// (see workers/raw-echo.js). The round trip drives it one call at a time (a ping-pong),
// throughput with the same 64 calls in flight as ours.
import { Worker } from 'node:worker_threads';

export class RawChannel {
  #worker;
  #pending = new Map();
  #nextId = 0;

  constructor() {
    this.#worker = new Worker(new URL('./workers/raw-echo.js', import.meta.url));
    this.#worker.on('message', (message) => {
      const resolve = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      resolve?.(message.value);
    });
  }

  call(name, args) {
    const id = ++this.#nextId;
    this.#worker.postMessage({ type: 'call', id, name, args });
    return new Promise((resolve) => this.#pending.set(id, resolve));
  }

  async close() {
    await this.#worker.terminate();
  }
}
