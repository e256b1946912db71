// How fast each core runs the same serial code, for the machine record of a run. On a VM
// the cores need not be alike: on the "AMD EPYC" KVM guest one vCPU ran call-heavy serial
// code 1.3-1.75x slower than the other in spells of minutes (the native fib(30) pinned with
// taskset: 2.0 ms on cpu0, 1.17 ms on cpu1), either vCPU being the slow one in turn, and
// both alike in between; presumably a busy neighbour on the same physical core. During a
// spell, a single-threaded baseline (the direct HTTP server, a serial loop) runs at the
// speed of whichever core it lands on, and no pool on 2 threads gets much past 1 + 1/1.75x:
// the ratios move with the spells. The runner probes at the start and at the end of a
// run, and records both; `node bench/js/core-speed.js` probes once.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

// Recursive fib: calls, returns and branches, the front end an SMT sibling shares (a loop
// of dependent multiplies ran alike on both vCPUs of that guest while fib did not).
// ~6-10 ms a pass.
const PROBE = `
const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2));
let best = Infinity;
for (let pass = 0; pass < 7; pass++) {
  const began = performance.now();
  if (fib(30) === 42) console.log('');
  best = Math.min(best, performance.now() - began);
}
console.log(best.toFixed(2));`;

/**
 * The best of 7 passes of the probe (fib(30) in JavaScript) on each core (ms), pinned with taskset, or null where
 * taskset is missing or failed. Cores are probed one after the other, so each has the
 * machine to itself.
 */
export function coreSpeeds() {
  return os.cpus().map((_, core) => {
    const child = spawnSync('taskset', ['-c', String(core), process.execPath, '-e', PROBE], { encoding: 'utf8', timeout: 30_000 });
    const ms = Number(child.stdout?.trim());
    return child.status === 0 && Number.isFinite(ms) ? ms : null;
  });
}

/** "cpu0 11.20 ms, cpu1 6.61 ms (slowest / fastest 1.70x)", or why there is no figure. */
export function describeCoreSpeeds(speeds) {
  if (!speeds?.length || speeds.some((ms) => ms === null)) return 'per-core speed not measured (taskset unavailable)';
  const spread = Math.max(...speeds) / Math.min(...speeds);
  return `${speeds.map((ms, core) => `cpu${core} ${ms.toFixed(2)} ms`).join(', ')} (slowest / fastest ${spread.toFixed(2)}x)`;
}

const runAsScript = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAsScript) console.log(describeCoreSpeeds(coreSpeeds()));
