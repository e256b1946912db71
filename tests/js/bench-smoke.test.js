// Smoke test of the benchmark suite: `node bench/run.js --quick --json` runs every section
// with tiny repetition counts and each one must produce numbers. It asserts nothing about
// the figures themselves (benchmarks are measured, never timed tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECTIONS = ['roundTrip', 'throughput', 'crashLatency', 'hangLatency', 'startup', 'transfer', 'soak', 'poolFigures'];

test('bench/run.js --quick --json: every section produces numbers', { timeout: 600_000 }, () => {
  const run = spawnSync(process.execPath, ['bench/run.js', '--quick', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 580_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(run.error, undefined, `the runner could not run: ${run.error}`);
  const line = run.stdout.trim().split('\n').at(-1);
  let parsed;
  assert.doesNotThrow(() => {
    parsed = JSON.parse(line);
  }, `stdout is not JSON:\n${run.stdout.slice(-2000)}\nstderr:\n${run.stderr.slice(-2000)}`);
  const { machine, results } = parsed;
  for (const key of ['date', 'cores', 'cpuModel', 'node', 'emscripten']) assert.ok(machine[key], `machine.${key} is recorded`);
  assert.deepEqual(results.map((r) => r.section), SECTIONS);
  for (const result of results) {
    assert.ok(result.ok, `section ${result.section} failed: ${result.error}`);
    const numbers = result.rows.filter((r) => typeof r.value === 'number' && Number.isFinite(r.value));
    assert.ok(numbers.length > 0, `section ${result.section} produced no numbers: ${JSON.stringify(result.rows)}`);
    for (const r of result.rows) {
      assert.ok(r.id && r.label && r.unit, `row of ${result.section} has id, label and unit`);
      if (r.ratio !== undefined && r.value !== null) assert.equal(typeof r.ratio, 'number', `${result.section}.${r.id} ratio is a number`);
    }
  }
  assert.equal(run.status, 0, `runner exit status ${run.status}; stderr:\n${run.stderr.slice(-2000)}`);
});
