// A host worker started before main has its module: a manager's first start reads, checks
// and compiles the module (module-loader.js: ~10 ms on a 2-core VM once V8 has the module
// compiled, ~20 ms before) while the host's Node boot (~55-65 ms there) runs, instead of
// before it. The host waits for its start data (what it would otherwise get as
// workerData: the module, the memory, its first generation's channels) as its first
// message (host.cjs waits for it before begin()).
//
// Until a session takes the worker, this file listens to it: an 'error' nobody listens to
// would throw on main, and a worker that died while booting must not be handed on.
import { toHost } from '../shared/protocol.cjs';

export class HostPreboot {
  #worker;
  #dead = false;
  #died = () => {
    this.#dead = true;
  };

  /**
   * @param {(url: URL, options: object) => import('node:worker_threads').Worker} createWorker
   * @param {URL} url host.cjs
   * @param {object} options the worker's options besides workerData
   */
  constructor(createWorker, url, options) {
    this.#worker = createWorker(url, { ...options, workerData: { early: true } });
    this.#worker.on('error', this.#died);
    this.#worker.on('exit', this.#died);
    // It waits for main, which waits for the module: nothing to keep the process alive for.
    this.#worker.unref();
  }

  /**
   * The worker, sent `data` (transferring `transferList`), for a session to supervise; or
   * null if it died meanwhile (nothing was sent: start a worker the usual way).
   */
  take(data, transferList) {
    const worker = this.#release();
    if (!worker) return null;
    if (this.#dead) {
      end(worker);
      return null;
    }
    worker.ref();
    worker.postMessage(toHost.start(data), transferList);
    return worker;
  }

  /**
   * Not needed after all (the module did not load, the glue was refused, the manager shut
   * down, or no work is left to take it): ends it. Resolves once its thread is gone.
   */
  discard() {
    const worker = this.#release();
    return worker ? end(worker) : Promise.resolve();
  }

  #release() {
    const worker = this.#worker;
    this.#worker = null;
    worker?.off('error', this.#died);
    worker?.off('exit', this.#died);
    return worker;
  }
}

// Terminates a worker nobody will supervise. An error it raised while booting may still be
// on its way to this thread: with no listener, Node would make it fatal to the process.
// Resolves once the worker's thread is gone.
function end(worker) {
  worker.on('error', () => {});
  return worker.terminate().then(() => {}, () => {});
}
