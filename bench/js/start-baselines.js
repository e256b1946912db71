// The start-up baselines measured beside ours in the same run: a bare Node worker's boot
// (new Worker -> first message, the floor of any worker-based start) and Piscina's cold
// start (new Piscina, 2 threads -> first run() result). startup.js judges against them;
// startup-phases.js (diagnostic) reports them next to the host's phases.
import { Worker } from 'node:worker_threads';
import { emptyTaskPool } from './piscina.js';

export async function bareWorkerBoot() {
  const t0 = performance.now();
  const worker = new Worker(new URL('./workers/bare.js', import.meta.url));
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const ms = performance.now() - t0;
  await worker.terminate();
  return ms;
}

export async function piscinaColdStart() {
  const t0 = performance.now();
  const pool = emptyTaskPool(2);
  await pool.run(null);
  const ms = performance.now() - t0;
  await pool.destroy();
  return ms;
}
