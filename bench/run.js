#!/usr/bin/env node
// The benchmark suite's entry point (`npm run bench`, which builds the prerequisites first).
//
//   node bench/run.js               every section, full repetitions (several minutes on 2 cores)
//   node bench/run.js --quick       tiny repetition counts: seconds, for smoke-testing the suite
//   node bench/run.js --json        results as JSON on stdout (progress still on stderr)
//   node bench/run.js --only=roundTrip,crashLatency   --skip=soak   --cycles=200 (soak)
//
// Each section is one file in bench/js/, run in its own Node process (so a leak, a crash or
// a hang in one cannot skew another, and a timeout can always end it); it prints one JSON
// line with its rows. Every figure is compared with a baseline measured in the same run.
// A complete full run writes bench/results/latest.md (the table for docs/BENCHMARKS.md) and
// latest.json; --quick writes quick.*, a run with --only/--skip writes partial.*.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { coreSpeeds, describeCoreSpeeds } from './js/core-speed.js';
import { fmt } from './js/stats.js';

const HERE = new URL('./', import.meta.url);
const ROOT = fileURLToPath(new URL('../', HERE));
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const listFlag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3).split(',').filter(Boolean);
const QUICK = flag('quick');
const JSON_OUT = flag('json');
const KNOWN_FLAGS = /^--(quick|json|only=.*|skip=.*|cycles=\d+|help)$/;

const SECTIONS = [
  { name: 'roundTrip', file: 'round-trip.js', runtime: true, timeoutS: [180, 60] },
  { name: 'throughput', file: 'throughput.js', runtime: true, timeoutS: [180, 60] },
  { name: 'safetyCost', file: 'safety-cost.js', runtime: true, timeoutS: [300, 90] },
  { name: 'crashLatency', file: 'crash-latency.js', runtime: true, timeoutS: [300, 90] },
  { name: 'hangLatency', file: 'hang-latency.js', runtime: true, timeoutS: [120, 60] },
  { name: 'startup', file: 'startup.js', runtime: true, timeoutS: [180, 60] },
  { name: 'transfer', file: 'transfer.js', runtime: true, timeoutS: [300, 60] },
  { name: 'memory', file: 'memory.js', runtime: true, timeoutS: [300, 60] },
  // Before serveLoad and soak: right after the soak's 1000 restarts the native pool's
  // figures ran slower for a while (reduce 1.49-1.56x serial instead of 1.8-2.0x, oneTBB's
  // fib ratio 1.21x once), though the machine was idle again.
  { name: 'poolFigures', file: 'pool-figures.js', runtime: false, timeoutS: [2400, 180] },
  { name: 'serveLoad', file: 'serve-load.js', runtime: true, timeoutS: [600, 120] },
  { name: 'soak', file: 'soak.js', runtime: true, timeoutS: [1800, 120], pass: ['cycles'] },
];

if (flag('help') || args.some((a) => !KNOWN_FLAGS.test(a))) {
  const bad = args.filter((a) => !KNOWN_FLAGS.test(a));
  process.stderr.write(`${bad.length ? `unknown argument(s): ${bad.join(' ')}\n` : ''}usage: node bench/run.js [--quick] [--json] [--only=a,b] [--skip=a,b] [--cycles=N]\nsections: ${SECTIONS.map((s) => s.name).join(', ')}\n`);
  process.exit(bad.length ? 2 : 0);
}

const log = (text) => process.stderr.write(`${text}\n`);

function firstLine(command, commandArgs, env) {
  try {
    return execFileSync(command, commandArgs, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
      .split('\n')[0].trim();
  } catch (error) {
    return `unavailable (${error.code ?? error.message.split('\n')[0]})`;
  }
}

function machine() {
  let cpuModel = 'unknown';
  try {
    cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    cpuModel = os.cpus()[0]?.model ?? 'unknown';
  }
  const commit = firstLine('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = firstLine('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
  return {
    date: new Date().toISOString(),
    cores: os.availableParallelism(),
    cpuModel,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    emscripten: firstLine('em++', ['--version'], { NODE_PATH: process.env.NODE_PATH ?? '/usr/share/nodejs' }),
    commit: `${commit}${dirty && !dirty.startsWith('unavailable') ? ' (with uncommitted changes)' : ''}`,
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    // Each core's speed on the same serial code (js/core-speed.js says why), at the start;
    // main() adds the end's.
    coreSpeedMsAtStart: coreSpeeds(),
    mode: QUICK ? 'quick' : 'full',
  };
}

/** Runs one section's file in a child process; resolves with its parsed result. */
function runSection(section) {
  const extra = [];
  for (const name of section.pass ?? []) {
    const value = args.find((a) => a.startsWith(`--${name}=`));
    if (value) extra.push(value);
  }
  const file = fileURLToPath(new URL(`js/${section.file}`, HERE));
  const timeoutS = section.timeoutS[QUICK ? 1 : 0];
  const began = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...(QUICK ? ['--quick'] : []), ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = [];
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        // Progress lines are indented by two spaces; the rest (e.g. the stack traces
        // Emscripten's pthread workers print as they die, on purpose here) is kept for
        // the error report only.
        if (line.startsWith('  ') && !line.startsWith('    at ')) log(`${section.name}:${line}`);
        stderrTail.push(line);
        if (stderrTail.length > 40) stderrTail = stderrTail.slice(-40);
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const durationS = Number(((performance.now() - began) / 1000).toFixed(1));
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      if (code === 0 && line) {
        try {
          resolve({ ...JSON.parse(line), ok: true, durationS });
          return;
        } catch {
          // fall through: unparsable output is a failure
        }
      }
      const why = timedOut ? `timed out after ${timeoutS} s` : `exited with ${signal ?? `code ${code}`}`;
      const tail = stderrTail.filter((l) => l.trim() && !l.startsWith('    at ')).slice(-8).join('\n');
      resolve({ section: section.name, title: section.name, ok: false, durationS, error: `${why}${tail ? `:\n${tail}` : ''}`, rows: [], notes: [] });
    });
  });
}

function statusOf(r) {
  if (r.skipped) return `not measured: ${r.skipped}`;
  if (r.met === true) return 'met';
  if (r.met === false) return '**missed**';
  if (r.unjudged) return `not judged: ${r.unjudged}`;
  return '';
}

/** Every row with a target, in run order: what the summary table and --json's `targets` list. */
function targetsOf(results) {
  return results.flatMap((res) => res.rows.filter((r) => r.target).map((r) => ({
    section: res.section, id: r.id, label: r.label, target: r.target, value: r.value, unit: r.unit,
    ratio: r.ratio, baseline: r.baseline, met: r.met ?? null, ...(r.skipped ? { skipped: r.skipped } : {}), ...(r.unjudged ? { unjudged: r.unjudged } : {}),
  })));
}

function spreadOf(r) {
  const s = r.stats?.rounds?.n > 1 ? r.stats.rounds : r.stats;
  if (!s || !Number.isFinite(s.min)) return '';
  const p99 = r.stats?.p99 !== undefined && r.stats.n > 20 ? `, p99 ${fmt(r.stats.p99)}` : '';
  return `${fmt(s.min)}–${fmt(s.max)}${s.n ? ` (n=${s.n})` : ''}${p99}`;
}

function markdown(meta, results) {
  const out = [];
  out.push(`Run ${meta.date} (${meta.mode}) on ${meta.cores} cores, ${meta.cpuModel}, ${meta.memoryGiB} GiB, ${meta.os}; ` +
    `Node ${meta.node}; ${meta.emscripten}; commit ${meta.commit}; load average at start ${meta.loadAverageAtStart.join(' ')}. ` +
    `Per-core speed (fib(30) in JavaScript pinned to each core, best of 7): at the start ${describeCoreSpeeds(meta.coreSpeedMsAtStart)}; ` +
    `at the end ${describeCoreSpeeds(meta.coreSpeedMsAtEnd)}.`);
  out.push('');
  const targets = targetsOf(results);
  if (targets.length) {
    out.push('| target | measured | ratio to baseline | status |', '| --- | --- | --- | --- |');
    for (const r of targets) {
      out.push(`| ${r.section}: ${r.label} — ${r.target} | ${r.value === null ? 'n/a' : `${fmt(r.value)} ${r.unit}`} | ${r.ratio !== undefined ? `${fmt(r.ratio)}x ${r.baseline ?? ''}` : ''} | ${statusOf(r)} |`);
    }
    out.push('');
  }
  for (const res of results) {
    out.push(`### ${res.title ?? res.section}${res.ok ? '' : ' — FAILED'}`, '');
    if (!res.ok) {
      out.push('```', res.error, '```', '');
      continue;
    }
    out.push('| figure | median | spread (min–max) | vs baseline | target | status |', '| --- | --- | --- | --- | --- | --- |');
    for (const r of res.rows) {
      const value = r.value === null || r.value === undefined ? 'n/a' : `${fmt(r.value)} ${r.unit}`;
      const vs = r.ratio !== undefined ? `${fmt(r.ratio)}x (${r.baseline})` : '';
      out.push(`| ${r.label} | ${value} | ${spreadOf(r)} | ${vs} | ${r.target ?? ''} | ${statusOf(r)} |`);
    }
    for (const note of res.notes ?? []) out.push('', `- ${note}`);
    out.push('', `(${res.durationS} s)`, '');
  }
  return out.join('\n');
}

async function main() {
  const only = listFlag('only');
  const skip = listFlag('skip') ?? [];
  const unknown = [...(only ?? []), ...skip].filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length) {
    log(`unknown section(s): ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  const chosen = SECTIONS.filter((s) => (!only || only.includes(s.name)) && !skip.includes(s.name));
  const meta = machine();
  log(`wasm-threadpool benchmarks (${meta.mode}): ${meta.cores} cores, ${meta.cpuModel}, Node ${meta.node}, ${meta.emscripten}`);
  const demoBuilt = existsSync(`${ROOT}build/wasm/src/demo/demo.mjs`) || process.env.WASMPOOL_BENCH_DEMO;
  const results = [];
  for (const section of chosen) {
    if (section.runtime && !demoBuilt) {
      log(`${section.name}: not built (build/wasm/src/demo/demo.mjs is missing: run make bench-prereqs)`);
      results.push({ section: section.name, title: section.name, ok: false, error: 'not built: build/wasm/src/demo/demo.mjs is missing (run make bench-prereqs)', rows: [], notes: [] });
      continue;
    }
    log(`${section.name} ...`);
    const result = await runSection(section);
    log(`${section.name}: ${result.ok ? `done in ${result.durationS} s` : `FAILED: ${result.error}`}`);
    results.push(result);
  }
  meta.coreSpeedMsAtEnd = coreSpeeds();
  const md = markdown(meta, results);
  // Only a complete full run replaces latest.*: a smoke test or a partial run never does.
  const outDir = `${ROOT}bench/results`;
  const base = QUICK ? 'quick' : chosen.length < SECTIONS.length ? 'partial' : 'latest';
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}/${base}.md`, `${md}\n`);
  const targets = targetsOf(results);
  writeFileSync(`${outDir}/${base}.json`, `${JSON.stringify({ machine: meta, targets, results }, null, 2)}\n`);
  if (JSON_OUT) process.stdout.write(`${JSON.stringify({ machine: meta, targets, results })}\n`);
  else process.stdout.write(`\n${md}\n`);
  // The verdicts also go to stderr, so a --json run shows them without a second look.
  log(`targets (${targets.filter((t) => t.met === true).length} met, ${targets.filter((t) => t.met === false).length} missed, of ${targets.length}):`);
  for (const t of targets) {
    const ratioText = Number.isFinite(t.ratio) ? `, ${fmt(t.ratio)}x ${t.baseline}` : '';
    log(`  ${(statusOf(t).replaceAll('*', '') || 'reported').padEnd(8)} ${t.section}.${t.id}: ${t.target} (${t.value === null ? 'n/a' : `${fmt(t.value)} ${t.unit}`}${ratioText})`);
  }
  log(`wrote bench/results/${base}.md and ${base}.json`);
  const failed = results.filter((r) => !r.ok).map((r) => r.section);
  if (failed.length) log(`sections that failed or were not built: ${failed.join(', ')}`);
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((error) => {
  log(error?.stack ?? String(error));
  process.exitCode = 1;
});
