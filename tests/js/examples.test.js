// The worked examples the README shows, run as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { notInstalled } from '../patch/helpers/npm-package.js';

test('examples/z3-solver: solve in the host, a fault becomes a WasmPanicError, solve again', {
  skip: notInstalled('z3-solver', '5.2.0'), timeout: 120_000,
}, () => {
  const main = fileURLToPath(new URL('../../examples/z3-solver/main.mjs', import.meta.url));
  const child = spawnSync(process.execPath, [main], { encoding: 'utf8', timeout: 110_000 });
  assert.equal(child.status, 0, child.stderr);
  const lines = child.stdout.trim().split('\n');
  assert.deepEqual(lines[0], 'solve 40 < x < 42: sat, x = 41');
  assert.match(lines[1], /^fault: WasmPanicError, kind oob: .*out of bounds/);
  assert.deepEqual(lines[2], 'solve 0 < x < 2 on a fresh host: sat, x = 1');
});
