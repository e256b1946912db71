// The watchdog declares a hang when, while calls are outstanding, it has seen neither a
// host heartbeat nor an advance of the pool's progress counters for the hang timeout of
// the call the host is running.
//
// The host's heartbeat comes from its own event loop, which is frozen for the whole of
// every synchronous wasm call, so on its own it cannot tell slow from dead. The progress
// counters live in the shared memory; every task a pool thread completes and every
// wasmpool::report_progress() advances them at once: a long computation that keeps
// finishing tasks is never declared hung. Code that can do neither (a single task longer
// than the timeout, foreign threads) runs with a longer per-call timeout, or none.
export class Watchdog {
  #timeoutMs;
  #intervalMs;
  #readProgress;
  #isBusy;
  #onHang;
  #timer = null;
  #lastAlive = 0;
  #lastProgress = undefined;

  /**
   * @param {object} o
   * @param {() => number} o.timeoutMs the timeout in force now (Infinity: none)
   */
  constructor({ timeoutMs, intervalMs, readProgress, isBusy, onHang }) {
    this.#timeoutMs = timeoutMs;
    this.#intervalMs = intervalMs;
    this.#readProgress = readProgress;
    this.#isBusy = isBusy;
    this.#onHang = onHang;
  }

  start() {
    this.#lastAlive = performance.now();
    this.#timer = setInterval(() => this.#check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** A sign of life: a heartbeat, a result, a log line. */
  alive() {
    this.#lastAlive = performance.now();
  }

  #check() {
    const now = performance.now();
    if (!this.#isBusy()) {
      // Idle time is not silence: only outstanding calls can hang.
      this.#lastAlive = now;
      return;
    }
    const progress = this.#readProgress();
    if (progress !== this.#lastProgress) {
      this.#lastProgress = progress;
      this.#lastAlive = now;
      return;
    }
    const silent = now - this.#lastAlive;
    const timeoutMs = this.#timeoutMs();
    if (silent >= timeoutMs) {
      this.stop();
      this.#onHang(Math.round(silent), timeoutMs);
    }
  }
}
