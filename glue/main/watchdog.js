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
//
// It checks every intervalMs, or a quarter of the timeout in force when that is shorter
// (an execute()'s hangTimeoutMs of 10 ms is checked every 5 ms, not every heartbeat), so a
// hang is declared within the timeout plus a quarter of it. While calls are outstanding
// its timer keeps the process alive: a caller awaiting a call on a host that vanished
// without a word (possible when the host's exit is not watched, crashDetection
// 'heartbeat-only') gets its hang error instead of a process that exits under it.
const MIN_INTERVAL_MS = 5;

export class Watchdog {
  #timeoutMs;
  #intervalMs;
  #readProgress;
  #isBusy;
  #onHang;
  #timer = null;
  #running = false;
  #scheduledBusy = false;
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
    this.#running = true;
    this.#schedule(this.#isBusy());
  }

  stop() {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(busy) {
    this.#scheduledBusy = busy;
    const timeoutMs = busy ? this.#timeoutMs() : Infinity;
    const delay = Math.max(MIN_INTERVAL_MS, Math.min(this.#intervalMs, timeoutMs / 4));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const busy = this.#check();
      if (this.#running) this.#schedule(busy);
    }, delay);
    if (!busy) this.#timer.unref();
  }

  /**
   * A sign of life: a heartbeat, a result, a log line, a call sent. A call sent to an idle
   * host makes the watchdog busy: its next check comes at the busy pace, and keeps the
   * process alive.
   */
  alive() {
    this.#lastAlive = performance.now();
    if (this.#running && !this.#scheduledBusy && this.#isBusy()) {
      clearTimeout(this.#timer);
      this.#schedule(true);
    }
  }

  // Returns whether calls are still outstanding (the next check keeps the process alive).
  #check() {
    const now = performance.now();
    if (!this.#isBusy()) {
      // Idle time is not silence: only outstanding calls can hang.
      this.#lastAlive = now;
      return false;
    }
    const progress = this.#readProgress();
    if (progress !== this.#lastProgress) {
      this.#lastProgress = progress;
      this.#lastAlive = now;
      return true;
    }
    const silent = now - this.#lastAlive;
    const timeoutMs = this.#timeoutMs();
    if (silent >= timeoutMs) {
      this.stop();
      this.#onHang(Math.round(silent), timeoutMs);
      return false;
    }
    return true;
  }
}
