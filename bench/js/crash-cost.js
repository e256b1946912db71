// Diagnostic, not a section of bench/run.js: what one crash costs, in wall time and in CPU,
// and on which threads. A manager (threads: 2 unless --threads) runs --cycles cycles of a
// fault on a pool thread (--kind: trap, abort, oob) followed by one parallelSum call, after
// a warm-up of 20; --nocrash runs the calls alone, the baseline. Printed: wall time and
// process CPU per cycle, then each thread's CPU per cycle from /proc/self/task (main, the
// threads that existed before the manager: V8's and libuv's, and the threads it started:
// the host and its pool workers).
//
//   node bench/js/crash-cost.js [--cycles=300] [--kind=trap] [--threads=2] [--nocrash]
import { loadDemo, newManager, numberFlag } from './common.js';
import { threadCpu } from './thread-cpu.js';

const CYCLES = numberFlag('cycles', 300);
const KIND = process.argv.find((a) => a.startsWith('--kind='))?.slice(7) ?? 'trap';
const CRASH = !process.argv.includes('--nocrash');

const demo = await loadDemo();
const before = new Set(threadCpu().keys());
const manager = newManager({ threads: numberFlag('threads', 2) });
await manager.start();
const cycle = async () => {
  if (CRASH) await manager.execute(() => demo.fault(KIND, 'pool', 0)).catch(() => {});
  await manager.execute(() => demo.parallelSum(1e6));
};
for (let i = 0; i < 20; i++) await cycle();
const start = threadCpu();
const began = performance.now();
const cpuBegan = process.cpuUsage();
for (let i = 0; i < CYCLES; i++) await cycle();
const wall = (performance.now() - began) / CYCLES;
const cpu = process.cpuUsage(cpuBegan);
const end = threadCpu();
const stats = manager.stats();
await manager.shutdown();

const perCycle = (ms) => (ms / CYCLES).toFixed(2);
console.log(`${CRASH ? `${KIND} + call` : 'call alone'}, ${CYCLES} cycles: ${wall.toFixed(2)} ms of wall time, ` +
  `${perCycle((cpu.user + cpu.system) / 1000)} ms of CPU per cycle (warm restarts: ${stats.warmRestarts})`);
const main = String(process.pid);
for (const [tid, ms] of end) {
  const spent = ms - (start.get(tid) ?? 0);
  if (spent <= 0) continue;
  const who = tid === main ? 'main' : before.has(tid) ? 'V8/libuv (main\'s)' : 'host or pool worker';
  console.log(`  thread ${tid} (${who}): ${perCycle(spent)} ms per cycle`);
}
