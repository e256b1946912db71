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
import { nativeFigures, poolBench, wasmFigures, wasmNoexceptFigures } from '../../bench/js/pool-binaries.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECTIONS = ['roundTrip', 'throughput', 'safetyCost', 'crashLatency', 'hangLatency', 'startup', 'transfer', 'memory',
  'poolFigures', 'serveLoad', 'soak'];

// The rows each section must fill with a number: its baselines and the rows with verdicts.
const FIGURE_ROWS = ['FibSerial', 'FibPool', 'FibCutoff', 'ReduceSerial', 'Reduce', 'SortSerial', 'Sort'];
const REQUIRED = {
  roundTrip: ['raw', 'piscina', 'ours', 'oursVsPiscina'],
  throughput: ['raw', 'rawPingPong', 'piscina1', 'piscina2', 'oursVsRaw', 'ours', 'oursVsPingPong'],
  safetyCost: ['direct_1000', 'routed_1000', 'direct_1000000', 'routed_1000000', 'overhead'],
  crashLatency: ['exception', 'heartbeatOnly', 'ours', 'ours4Threads', 'hostThread'],
  hangLatency: ['timeout', 'ours'],
  startup: ['bareWorker', 'piscinaCold', 'cold', 'restart', 'restartAbort', 'restartStandby'],
  transfer: ['copy', 'shared'],
  memory: ['piscina', 'ours', 'oursThreads', 'piscinaThreads'],
  serveLoad: ['direct', 'directP99', 'hosts1Throughput', 'hosts1P99', 'hosts1Innocent', 'hosts1Lost', 'hosts2Throughput', 'hosts2Innocent', 'hosts2Lost'],
  soak: ['cycles', 'threadsRunning', 'threadsAfter', 'rssGrowth', 'rssGrowthPerCycle', 'rssGrowthWholeRun'],
  poolFigures: ['machineCapacity'],
};
const programs = { native: nativeFigures(), wasm: wasmFigures(), wasmNoexcept: wasmNoexceptFigures(), poolBench: poolBench() };
if (programs.native) REQUIRED.poolFigures.push(...FIGURE_ROWS.map((r) => `native${r}`));
if (programs.wasm) REQUIRED.poolFigures.push(...FIGURE_ROWS.map((r) => `wasm${r}`));
if (programs.wasmNoexcept) REQUIRED.poolFigures.push('wasmNoexceptFibSerial', 'wasmNoexceptFibPool');
if (programs.native && programs.wasm) REQUIRED.poolFigures.push('wasmVsNative_fib');
if (programs.native && programs.wasmNoexcept) REQUIRED.poolFigures.push('wasmNoexceptVsNative_fib');
if (programs.poolBench) REQUIRED.poolFigures.push('gbFibSerial', 'gbFibCutoffTbb', 'gbFibCutoffSpeedup', 'gbFibCutoff', 'gbFibTbb', 'gbFibPool');

// Every judged target, with the baseline (measured in the same run) its ratio must be to.
// Each must have a ratio and a verdict (quick runs of the C++ pool say "not judged").
const TARGETS = {
  'roundTrip.ours': 'raw',
  'roundTrip.oursVsPiscina': 'piscina',
  'throughput.oursVsRaw': 'raw', // a raw postMessage worker with the same 64 calls in flight
  'throughput.ours': 'piscina1',
  'crashLatency.ours': 'heartbeatOnly',
  'crashLatency.ours4Threads': 'ours',
  'crashLatency.hostThread': 'heartbeatOnly',
  'hangLatency.ours': 'timeout',
  'startup.cold': 'piscinaCold',
  'startup.restart': 'piscinaCold',
  'startup.restartAbort': 'piscinaCold',
  'startup.restartStandby': 'restart',
  'transfer.shared': 'copy',
  'memory.ours': 'piscina', // information (no limit set), but always with its ratio
};
// Serving: throughput and p99 with 2% crashing requests, against the same server calling the
// module directly on main; innocent failures and lost requests are absolute counts.
for (const config of ['hosts1', 'hosts1Standby', 'hosts2']) {
  Object.assign(TARGETS, { [`serveLoad.${config}Throughput`]: 'direct', [`serveLoad.${config}P99`]: 'directP99' });
}
if (programs.native) Object.assign(TARGETS, { 'poolFigures.nativeReduce': 'serial', 'poolFigures.nativeSort': 'serial' });
if (programs.wasm) Object.assign(TARGETS, { 'poolFigures.wasmReduce': 'serial', 'poolFigures.wasmSort': 'serial' });
// wasm fib: judged on the -fno-exceptions build when it is built; then the -fexceptions row is information.
if (programs.native && programs.wasmNoexcept) TARGETS['poolFigures.wasmNoexceptVsNative_fib'] = 'native';
else if (programs.native && programs.wasm) TARGETS['poolFigures.wasmVsNative_fib'] = 'native';
if (programs.poolBench) TARGETS['poolFigures.gbFibCutoff'] = 'oneTBB';
// Targets that are absolute checks of the soak (counts), with no baseline to be a ratio to.
const ABSOLUTE = ['soak.cycles', 'soak.threadsRunning', 'soak.threadsAfter', 'soak.rssGrowth', 'soak.rssGrowthPerCycle',
  ...['hosts1', 'hosts1Standby', 'hosts2'].flatMap((config) => [`serveLoad.${config}Innocent`, `serveLoad.${config}Lost`])];
const hasVerdict = (t) => typeof t.met === 'boolean' || (t.met === null && typeof t.unjudged === 'string' && t.unjudged.length > 0);

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

test('bench targets: each judged one is a ratio to its same-run baseline, with a verdict', () => {
  assert.ok(parsed, 'no JSON to check');
  const targets = new Map(parsed.targets.map((t) => [`${t.section}.${t.id}`, t]));
  for (const [key, baseline] of Object.entries(TARGETS)) {
    const t = targets.get(key);
    assert.ok(t, `target ${key} is listed`);
    assert.ok(Number.isFinite(t.ratio), `target ${key} has a ratio: ${JSON.stringify(t)}`);
    assert.equal(t.baseline, baseline, `target ${key} is a ratio to ${baseline}`);
    // Quick runs of the C++ pool use tiny sizes: they say "not judged" instead.
    assert.ok(hasVerdict(t), `target ${key} has a verdict: ${JSON.stringify(t)}`);
  }
  if (programs.native && programs.wasmNoexcept) {
    const info = targets.get('poolFigures.wasmVsNative_fib');
    assert.ok(info && info.met === null && /^information/.test(info.unjudged ?? ''),
      `with the -fno-exceptions build at hand, the -fexceptions fib row is information only: ${JSON.stringify(info)}`);
  }
});

test('bench targets: none is left unchecked', () => {
  assert.ok(parsed, 'no JSON to check');
  for (const t of parsed.targets) {
    const key = `${t.section}.${t.id}`;
    assert.ok(hasVerdict(t), `target ${key} has a verdict: ${JSON.stringify(t)}`);
    const information = t.met === null && /^information/.test(t.unjudged ?? '');
    assert.ok(key in TARGETS || ABSOLUTE.includes(key) || information,
      `target ${key} (${t.target}) is in this test's TARGETS (or ABSOLUTE): a new target needs its check here`);
  }
});
