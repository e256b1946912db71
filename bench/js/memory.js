// Memory: the RSS that a ThreadPoolManager with a ready 2-thread host adds to a process,
// against the RSS that Piscina with one worker adds, in the same run (the issue asks for
// both figures side by side; it sets no limit, so the ratio is information).
//
// Each measurement is a fresh child process (`node --expose-gc memory.js --variant=...`),
// so neither variant inherits the other's heap, compiled code or freed-but-kept pages. The
// child loads both libraries' code first (the glue and Piscina, whichever variant it
// measures), settles (full GCs and short sleeps) and samples its RSS several times; then starts the
// pool and waits until it is ready (ours: manager.start(), i.e. the module compiled, the
// host running and both pool threads started; Piscina: minThreads = maxThreads = 1 and
// one run() answered), settles again and samples again. Added = median after - median
// before. The variants alternate, child after child; each figure is the median over the
// repetitions (--quick: one repetition, its two processes started at once). RSS comes
// from /proc/self/status (it includes the wasm memory's touched pages and every worker's
// isolate, which V8's heap counters leave out).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEMO_GLUE, osThreadCount, progress, QUICK, report, reps, row, rssBytes, runSection, sleep } from './common.js';
import { emptyTaskPool, piscinaLabel } from './piscina.js';
import { ratio, median, summarize } from './stats.js';
import { ThreadPoolManager } from '../../glue/index.js';

const MiB = 2 ** 20;
const THREADS = 2;
const SAMPLES = reps(5, 3);
const VARIANTS = ['ours', 'piscina'];
const variant = process.argv.find((a) => a.startsWith('--variant='))?.slice('--variant='.length);

/** Median RSS (bytes) of a few samples, each after full collections of this isolate. */
async function settledRss() {
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) {
    for (let j = 0; j < 3; j++) globalThis.gc();
    await sleep(20);
    samples.push(rssBytes());
  }
  return median(samples);
}

/** The child: one variant, one measurement; prints one JSON line. */
async function measure(name) {
  if (!VARIANTS.includes(name)) throw new Error(`unknown variant ${name}: ${VARIANTS.join(', ')}`);
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
  await sleep(50); // let start-up work of the process itself finish
  const before = await settledRss();
  const threadsBefore = osThreadCount();
  let pool; // kept referenced until the readings are taken
  if (name === 'ours') {
    pool = new ThreadPoolManager({ module: DEMO_GLUE, threads: THREADS, log: false, idleTimeoutMs: 600_000 });
    await pool.start();
    if (!pool.stats().running) throw new Error('manager.start() resolved without a running host');
  } else {
    pool = emptyTaskPool(1);
    await pool.run(null);
  }
  const after = await settledRss();
  const threadsAfter = osThreadCount();
  process.stdout.write(`${JSON.stringify({ variant: name, before, after, added: after - before, threadsAdded: threadsAfter - threadsBefore })}\n`);
  // The process ends here, its workers with it: a clean shutdown would only cost time.
  process.exit(0);
}

async function child(name) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), `--variant=${name}`],
    { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1));
}

async function main() {
  const repetitions = reps(7, 1);
  const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  for (let i = 0; i < repetitions; i++) {
    // Alternate the order too, so neither variant always runs right after the other. A
    // quick run starts both processes at once (each reads only its own RSS) to save time.
    const order = i % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    if (QUICK) {
      const results = await Promise.all(order.map(child));
      order.forEach((name, k) => runs[name].push(results[k]));
    } else {
      for (const name of order) runs[name].push(await child(name));
    }
    progress(`repetition ${i + 1}/${repetitions}: ${VARIANTS.map((v) => `${v} +${(runs[v].at(-1).added / MiB).toFixed(1)} MiB`).join(', ')}`);
  }
  const added = (v) => summarize(runs[v].map((r) => r.added / MiB));
  const s = { ours: added('ours'), piscina: added('piscina') };
  const before = (v) => summarize(runs[v].map((r) => r.before / MiB));
  const threads = (v) => median(runs[v].map((r) => r.threadsAdded));
  const vsPiscina = ratio(s.ours.median, s.piscina.median);
  report('memory', `RSS added by a ready pool (a fresh process per sample, ${repetitions} per variant, after GC)`, [
    row({ id: 'piscina', label: `${piscinaLabel(1)}: RSS added after one run() (baseline)`, value: s.piscina.median, unit: 'MiB', stats: s.piscina }),
    row({ id: 'ours', label: `ThreadPoolManager, threads: ${THREADS}: RSS added with the host ready (after start())`, value: s.ours.median, unit: 'MiB', stats: s.ours,
      baseline: 'piscina', ratio: vsPiscina, target: 'reported against Piscina, 1 worker', met: null, unjudged: 'information: the issue sets no limit' }),
    row({ id: 'oursThreads', label: 'ThreadPoolManager: OS threads added (the host worker and its pool threads)', value: threads('ours'), unit: 'threads' }),
    row({ id: 'piscinaThreads', label: 'Piscina, 1 worker: OS threads added', value: threads('piscina'), unit: 'threads' }),
    row({ id: 'oursBefore', label: 'ThreadPoolManager process: RSS before the pool (glue and Piscina loaded)', value: before('ours').median, unit: 'MiB', stats: before('ours') }),
    row({ id: 'piscinaBefore', label: 'Piscina process: RSS before the pool (glue and Piscina loaded)', value: before('piscina').median, unit: 'MiB', stats: before('piscina') }),
  ], [
    `Each sample is a fresh "node --expose-gc" process: RSS (VmRSS) before and after the pool is ready, each the median of ${SAMPLES} readings after full GCs of the main isolate; added = after - before. Value = median over processes; ratio = ours / Piscina (lower is leaner).`,
    `Ours: new ThreadPoolManager({ threads: ${THREADS} }) with the demo module, then start() (the module compiled on main, the host worker running the instance, ${THREADS} pool threads started, each a nested worker). Piscina: minThreads = maxThreads = 1, after one run() of an empty task.`,
  ]);
}

runSection(() => (variant ? measure(variant) : main()));
