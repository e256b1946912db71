// Smoke test of the benchmark suite: `node bench/run.js --quick --json` runs every section
// with tiny repetition counts. It asserts nothing about the figures themselves (benchmarks
// are measured, never timed tests), but it does insist that each section produced the rows
// its verdicts rest on, each target a ratio and a verdict, and stdout only JSON.
// The C++ pool's programs are built by `make bench-prereqs`, not by `make test`: their rows
// are required once the program is on disk, and reported as skipped otherwise.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeFigures, poolBench, wasmFigures } from '../../bench/js/pool-binaries.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECTIONS = ['roundTrip', 'throughput', 'safetyCost', 'crashLatency', 'hangLatency', 'startup', 'transfer', 'serveLoad', 'soak', 'poolFigures'];

// The rows each section must fill with a number: its baselines and the rows with verdicts.
const FIGURE_ROWS = ['FibSerial', 'FibPool', 'FibCutoff', 'ReduceSerial', 'Reduce', 'SortSerial', 'Sort'];
const REQUIRED = {
  roundTrip: ['raw', 'piscina', 'ours', 'oursVsPiscina'],
  throughput: ['rawPingPong', 'raw', 'piscina1', 'piscina2', 'oursVsPingPong', 'ours'],
  safetyCost: ['direct_1000', 'routed_1000', 'direct_1000000', 'routed_1000000', 'overhead'],
  crashLatency: ['exception', 'heartbeatOnly', 'ours', 'ours4Threads', 'hostThread'],
  hangLatency: ['timeout', 'ours'],
  startup: ['bareWorker', 'piscinaCold', 'cold', 'restart', 'restartStandby'],
  transfer: ['copy', 'shared'],
  serveLoad: ['direct', 'directP99', 'hosts1Throughput', 'hosts1P99', 'hosts1Innocent', 'hosts1Lost', 'hosts2Throughput', 'hosts2Innocent', 'hosts2Lost'],
  soak: ['cycles', 'threadsRunning', 'threadsAfter', 'rssGrowth'],
  poolFigures: ['machineCapacity'],
};
const programs = { native: nativeFigures(), wasm: wasmFigures(), poolBench: poolBench() };
if (programs.native) REQUIRED.poolFigures.push(...FIGURE_ROWS.map((r) => `native${r}`));
if (programs.wasm) REQUIRED.poolFigures.push(...FIGURE_ROWS.map((r) => `wasm${r}`));
if (programs.native && programs.wasm) REQUIRED.poolFigures.push('wasmVsNative_fib');
if (programs.poolBench) REQUIRED.poolFigures.push('gbFibSerial', 'gbFibCutoffTbb', 'gbFibCutoff', 'gbFibTbb', 'gbFibPool');

// The targets: each a ratio to a baseline measured in the same run, with a verdict.
const TARGETS = ['roundTrip.oursVsPiscina', 'throughput.oursVsPingPong', 'crashLatency.ours', 'crashLatency.ours4Threads', 'startup.cold', 'startup.restart',
  'serveLoad.hosts1Throughput', 'serveLoad.hosts2Throughput'];
if (programs.native && programs.wasm) TARGETS.push('poolFigures.wasmVsNative_fib');
if (programs.poolBench) TARGETS.push('poolFigures.gbFibCutoff');

let run;
let parsed;
before(() => {
  run = spawnSync(process.execPath, ['bench/run.js', '--quick', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 580_000,
    maxBuffer: 64 << 20,
  });
  try {
    parsed = JSON.parse(run.stdout); // all of stdout: `--json > file` must be valid JSON
  } catch {
    parsed = undefined;
  }
}, { timeout: 600_000 });

test('bench/run.js --quick --json: stdout is one JSON object, the run succeeded', () => {
  assert.equal(run.error, undefined, `the runner could not run: ${run.error}`);
  assert.ok(parsed, `stdout is not JSON:\n${run.stdout.slice(0, 1000)}\nstderr:\n${run.stderr.slice(-2000)}`);
  for (const key of ['date', 'cores', 'cpuModel', 'node', 'emscripten']) assert.ok(parsed.machine[key], `machine.${key} is recorded`);
  assert.deepEqual(parsed.results.map((r) => r.section), SECTIONS);
  assert.equal(run.status, 0, `runner exit status ${run.status}; stderr:\n${run.stderr.slice(-2000)}`);
});

for (const section of SECTIONS) {
  test(`bench section ${section}: every row that matters has a number`, (t) => {
    assert.ok(parsed, 'no JSON to check');
    const result = parsed.results.find((r) => r.section === section);
    assert.ok(result?.ok, `section ${section} failed: ${result?.error}`);
    const byId = new Map(result.rows.map((r) => [r.id, r]));
    for (const r of result.rows) {
      assert.ok(r.id && r.label && r.unit, `row of ${section} has id, label and unit: ${JSON.stringify(r)}`);
      if (r.ratio !== undefined && r.value !== null) assert.equal(typeof r.ratio, 'number', `${section}.${r.id} ratio is a number`);
    }
    for (const id of REQUIRED[section]) {
      const r = byId.get(id);
      assert.ok(r, `${section}.${id} is reported`);
      assert.ok(Number.isFinite(r.value), `${section}.${id} has a number: ${JSON.stringify(r)}`);
    }
    if (section === 'poolFigures') {
      for (const [name, path] of Object.entries(programs)) if (!path) t.diagnostic(`${name} benchmark program not built (make bench-prereqs): its rows were not required`);
    }
  });
}

test('bench targets: each is a ratio to a same-run baseline, with a verdict', () => {
  assert.ok(parsed, 'no JSON to check');
  const targets = new Map(parsed.targets.map((t) => [`${t.section}.${t.id}`, t]));
  for (const key of TARGETS) {
    const t = targets.get(key);
    assert.ok(t, `target ${key} is listed`);
    assert.ok(Number.isFinite(t.ratio) && t.baseline, `target ${key} has a ratio to a baseline: ${JSON.stringify(t)}`);
    // Quick runs of the C++ pool use tiny sizes: they say "not judged" instead.
    assert.ok(typeof t.met === 'boolean' || (t.met === null && t.unjudged), `target ${key} has a verdict: ${JSON.stringify(t)}`);
  }
});
