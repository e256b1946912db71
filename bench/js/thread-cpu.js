// CPU time per thread of this process, from /proc/self/task (Linux only): the diagnostics
// that say where a call's or a request's CPU goes (crash-cost.js, serve-load.js --cpu).
// A thread that ended between two readings is missing from the second, so its time is
// not counted: read before and after a span in which the threads of interest stay alive.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (user + system, ms) of every thread of this process, by thread id. */
export function threadCpu() {
  const cpu = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(tid, (Number(fields[11]) + Number(fields[12])) * 10); // clock ticks of 10 ms
    } catch {
      // the thread ended meanwhile
    }
  }
  return cpu;
}

/**
 * What each thread spent between two readings, grouped: main, the threads that existed
 * before `before` was taken besides main (V8's and libuv's), and the ones started since
 * (for the callers here: hosts and their pool workers). Returns ms per group.
 */
export function cpuByGroup(start, end, existing) {
  const main = String(process.pid);
  const groups = { main: 0, runtime: 0, started: 0 };
  for (const [tid, ms] of end) {
    const spent = ms - (start.get(tid) ?? 0);
    if (spent <= 0) continue;
    if (tid === main) groups.main += spent;
    else if (existing.has(tid)) groups.runtime += spent;
    else groups.started += spent;
  }
  return groups;
}
