// What every benchmark file shares: the demo module, manager construction, process
// probes, command-line flags and the one way a section reports its figures.
//
// Each benchmark file is a standalone script (`node bench/js/<name>.js [--quick]`) that
// prints exactly one line of JSON on stdout: { section, title, rows, notes }. The runner
// (bench/run.js) starts each in its own process, so a crash, a leak or a hang in one
// section cannot skew another, and a timeout there can always kill it.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ThreadPoolManager } from '../../glue/index.js';

export const ROOT = new URL('../../', import.meta.url);
// WASMPOOL_BENCH_DEMO points at another build of the demo glue (e.g. a stable copy).
export const DEMO_GLUE = process.env.WASMPOOL_BENCH_DEMO
  ? pathToFileURL(process.env.WASMPOOL_BENCH_DEMO)
  : new URL('build/wasm/src/demo/demo.mjs', ROOT);
export const DEMO_GLUE_PATH = fileURLToPath(DEMO_GLUE);

export const QUICK = process.argv.includes('--quick');

/** `--name=value` from argv, as a number, or the fallback. */
export function numberFlag(name, fallback) {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = hit ? Number(hit.slice(name.length + 3)) : NaN;
  return Number.isFinite(value) ? value : fallback;
}

/** Full-run count, or the quick one under --quick. */
export const reps = (full, quick) => numberFlag('reps', QUICK ? quick : full);

let demoPromise;
/** The ordinary main-thread instance of the demo module (calls route through execute()). */
export function loadDemo() {
  demoPromise ??= import(DEMO_GLUE.href).then((m) => m.default());
  return demoPromise;
}

export function newManager(options = {}) {
  return new ThreadPoolManager({ module: DEMO_GLUE, threads: 2, log: false, ...options });
}

/** OS threads of this process (every Node worker and pthread worker is one). */
export function osThreadCount() {
  return readdirSync('/proc/self/task').length;
}

/** Resident set size from /proc (includes wasm memories, which V8's counters may not). */
export function rssBytes() {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : process.memoryUsage().rss;
}

export async function waitForThreadCount(target, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (osThreadCount() > target && Date.now() < deadline) await sleep(10);
  return osThreadCount();
}

/**
 * The lanes of an interleaved benchmark in a new order each round, the same orders in every
 * run (a fixed seed): a lane that always ran right after the same other one would always
 * pay for what that one left behind (its garbage, the state it left the machine in).
 */
export function shuffledOrders(keys, seed = 0x9e3779b9) {
  let state = seed >>> 0;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return () => {
    const order = [...keys];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress on stderr (the runner shows it; stdout is reserved for the result line). */
export function progress(message) {
  process.stderr.write(`  ${message}\n`);
}

/**
 * A row of a section's table.
 * @param {object} r
 * @param {string} r.id        stable key (used by --json consumers and the smoke test)
 * @param {string} r.label     what was measured
 * @param {number} r.value     the headline figure (a median unless said otherwise)
 * @param {string} r.unit
 * @param {object} [r.stats]   summarize() of the samples the value came from
 * @param {string} [r.baseline] label of the baseline this row is compared with
 * @param {number} [r.ratio]   value / baseline value (or the inverse, as `ratioMeaning` says)
 * @param {string} [r.target]  the design target, in words
 * @param {boolean|null} [r.met]
 */
export function row(r) {
  return { ...r };
}

/** Prints the section's result (one JSON line) and ends the process. */
export function report(section, title, rows, notes = []) {
  process.stdout.write(`${JSON.stringify({ section, title, quick: QUICK, rows, notes })}\n`);
  // Never wait for stray handles: the figures are out.
  process.exitCode = 0;
  setImmediate(() => process.exit(0));
}

/** Runs main(); any error becomes a failed section (exit code 1, message on stderr). */
export function runSection(main) {
  main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
