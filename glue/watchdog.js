// The watchdog declares a hang when, while calls are outstanding, it has seen neither a
// host heartbeat nor an advance of the pool's progress counter for `timeoutMs`.
//
// The host's heartbeat comes from its own event loop, which is frozen for the whole of
// every synchronous wasm call, so on its own it cannot tell slow from dead. The progress
// counter lives in the shared memory and is bumped by pool threads as tasks complete:
// a long computation that keeps finishing tasks is never declared hung.
export class Watchdog {
  #timeoutMs;
  #intervalMs;
  #readProgress;
  #isBusy;
  #onHang;
  #timer = null;
  #lastAlive = 0;
  #lastProgress = undefined;

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
    if (silent >= this.#timeoutMs) {
      this.stop();
      this.#onHang(Math.round(silent));
    }
  }
}
