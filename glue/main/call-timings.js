// A bounded window of recent call round-trip times, summarised on demand for stats().
const WINDOW = 1024;

export class CallTimings {
  #samples = new Float64Array(WINDOW);
  #count = 0;

  add(ms) {
    this.#samples[this.#count % WINDOW] = ms;
    this.#count++;
  }

  summary() {
    const n = Math.min(this.#count, WINDOW);
    if (n === 0) return { count: 0 };
    const sorted = this.#samples.slice(0, n).sort();
    const at = (q) => sorted[Math.min(n - 1, Math.floor(q * n))];
    return { count: this.#count, medianMs: at(0.5), p99Ms: at(0.99), maxMs: sorted[n - 1] };
  }
}
