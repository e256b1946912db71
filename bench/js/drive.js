// Load generators shared by the round-trip and throughput benchmarks.

/** Times `count` sequential awaits of `once()`; returns per-call durations in microseconds. */
export async function sequential(once, count) {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await once();
    samples[i] = (performance.now() - t0) * 1000;
  }
  return Array.from(samples);
}

/**
 * Keeps `depth` calls of `once()` in flight until `total` have completed; returns calls
 * per second.
 */
export async function inFlight(once, total, depth) {
  let started = 0;
  const lane = async () => {
    while (started < total) {
      started++;
      await once();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(depth, total) }, lane));
  return total / ((performance.now() - t0) / 1000);
}
