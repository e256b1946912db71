// Diagnostic, not a section of bench/run.js: where a cold start's time goes, and how this
// tree's start compares with another commit's, measured interleaved in one process so
// both see the same machine load.
//
//   node bench/js/startup-phases.js [--baseline=<git ref> ...] [--reps=N]
//
// Each round runs, in turn: a bare Node worker's boot (new Worker -> first message, the
// floor), Piscina's cold start (new Piscina, 2 threads -> first run() result, the
// baseline of issue 19), then for each variant (this tree, and the --baseline commit's
// glue/ and patch/, extracted with git archive into a temporary directory) a cold start
// (new ThreadPoolManager, threads: 2 -> first execute() result; a new manager compiles
// the module afresh) and a restart after a crash (a trap on a pool thread -> the next
// execute() result). Each variant's phases come from its host's trace
// (WASMPOOL_TRACE_START=1: "[host] <phase> +<ms>", since the host's first line) and from
// when main received the first of them (since the manager was constructed; that includes
// the host's boot and the message's trip). Medians over the rounds; ratios are of medians
// taken in this same run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { piscinaLabel } from './piscina.js';
import { bareWorkerBoot, piscinaColdStart } from './start-baselines.js';
import { median } from './stats.js';
import { DEMO_GLUE, ROOT, loadDemo, numberFlag, sleep } from './common.js';

process.env.WASMPOOL_TRACE_START = '1'; // inherited by every host created below

const ROUNDS = numberFlag('reps', 10);
const baselineRefs = process.argv.filter((a) => a.startsWith('--baseline=')).map((a) => a.slice('--baseline='.length));



// A manager whose log sink keeps its host's trace lines: phase -> ms since the host's
// first line, and 'host first line (main)' -> ms since `t0` when main received it.
function tracedManager(ThreadPoolManager, t0, phases, options = {}) {
  return new ThreadPoolManager({
    module: DEMO_GLUE,
    threads: 2,
    ...options,
    log: (entry) => {
      const match = /^\[host\] (.+?) \+([\d.]+) ms/.exec(String(entry.message));
      if (!match) return;
      if (match[1] === 'host started') phases['host first line (main)'] ??= performance.now() - t0.value;
      else phases[match[1]] = Number(match[2]);
    },
  });
}

async function coldStart(ThreadPoolManager, demo) {
  const t0 = { value: performance.now() };
  const phases = {};
  const manager = tracedManager(ThreadPoolManager, t0, phases);
  try {
    await manager.execute(() => demo.add(1, 2));
    phases['first result (cold)'] = performance.now() - t0.value;
  } finally {
    await manager.shutdown();
  }
  return phases;
}

async function restart(ThreadPoolManager, demo) {
  const t0 = { value: 0 };
  const phases = {};
  const manager = tracedManager(ThreadPoolManager, t0, {}, { idleTimeoutMs: 600_000 });
  try {
    // A running pool (start() waits for its threads): a crash while they still load
    // replaces the workers still loading, which is another figure.
    await manager.start();
    const crashed = manager.execute(() => demo.fault('trap', 'pool', 0), { timeoutMs: 15_000 }).catch(() => {});
    await crashed;
    t0.value = performance.now();
    await manager.execute(() => demo.add(1, 2));
    phases['first result (restart)'] = performance.now() - t0.value;
  } finally {
    await manager.shutdown();
  }
  return phases;
}

async function variants() {
  const list = [{ name: 'this tree', url: new URL('glue/index.js', ROOT) }];
  const dirs = [];
  for (const ref of baselineRefs.reverse()) {
    const dir = mkdtempSync(join(tmpdir(), 'wasmpool-baseline-'));
    dirs.push(dir);
    const archive = execFileSync('git', ['-C', fileURLToPath(ROOT), 'archive', ref, 'glue', 'patch']);
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    list.unshift({ name: `baseline ${ref}`, url: pathToFileURL(join(dir, 'glue/index.js')) });
  }
  return { list, cleanup: () => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })) };
}

const demo = await loadDemo();
const { list, cleanup } = await variants();
for (const variant of list) variant.ThreadPoolManager = (await import(variant.url.href)).ThreadPoolManager;
const samples = { bare: [], piscina: [] };
for (const variant of list) variant.samples = {};
const add = (into, phases) => {
  for (const [phase, ms] of Object.entries(phases)) (into[phase] ??= []).push(ms);
};

try {
  for (let round = 0; round < ROUNDS; round++) {
    samples.bare.push(await bareWorkerBoot());
    samples.piscina.push(await piscinaColdStart());
    // Alternate which variant goes first, so neither always runs right after Piscina.
    const order = round % 2 ? [...list].reverse() : list;
    for (const variant of order) {
      add(variant.samples, await coldStart(variant.ThreadPoolManager, demo));
      await sleep(20);
      add(variant.samples, await restart(variant.ThreadPoolManager, demo));
      await sleep(20);
    }
    process.stderr.write(`  round ${round + 1}/${ROUNDS}\n`);
  }
} finally {
  cleanup();
}

const bare = median(samples.bare);
const piscina = median(samples.piscina);
const fmt = (ms) => `${ms.toFixed(1)} ms`;
console.log(`${ROUNDS} rounds, medians`);
console.log(`bare Node worker boot (floor):                      ${fmt(bare)}`);
console.log(`Piscina cold start (${piscinaLabel(2)}): ${fmt(piscina)}`);
for (const variant of list) {
  console.log(`\n${variant.name}`);
  for (const [phase, values] of Object.entries(variant.samples)) {
    const m = median(values);
    const relative = /^first result/.test(phase)
      ? `   ${(m / piscina).toFixed(2)}x Piscina, ${(m / bare).toFixed(2)}x bare worker`
      : phase === 'host first line (main)' ? '   (since construction)' : '   (since the host\'s first line)';
    console.log(`  ${phase.padEnd(28)} ${fmt(m).padStart(9)}${relative}`);
  }
}
