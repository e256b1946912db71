// The demo (`npm run node`) runs, survives each fault it can provoke, and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(mkdtempSync(join(tmpdir(), 'wasmpool-demo-')), 'demo.png');

function runDemo(...args) {
  const run = spawnSync(process.execPath, ['demo/main.js', '--size', '240x160', '--threads', '2', '--out', OUT, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(run.status, 0, `demo ${args.join(' ')} exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

test('the demo renders, writes a PNG and reports the speedup over 1 thread', () => {
  const out = runDemo();
  assert.match(out, /Wrote .*demo\.png \(240x160\)/);
  assert.match(out, /speedup: \d+\.\d\dx on 2 threads/);
});

for (const kind of ['trap', 'stack-overflow', 'exception', 'oom']) {
  test(`--panic=${kind}: the error is shown, then a fresh pool renders`, () => {
    const out = runDemo(`--panic=${kind}`, '--no-baseline');
    const expected = kind === 'exception' ? /WasmCallError \[ERR_WASM_CPP_EXCEPTION\]/ : /WasmPanicError \[ERR_WASM_PANIC\]/;
    assert.match(out, expected);
    assert.match(out, /rendering again on a fresh pool/);
    assert.match(out, /Wrote /);
  });
}

test('--hang: the watchdog catches the stuck thread', () => {
  const out = runDemo('--hang', '--no-baseline');
  assert.match(out, /WasmHangError \[ERR_WASM_HANG\]/);
  assert.match(out, /1 hang\(s\) survived/);
});

test('--log prints per-thread lines; --help lists the flags; a bad flag is refused', () => {
  const logged = spawnSync(process.execPath, ['demo/main.js', '--size', '64x64', '--no-baseline', '--log', '--out', OUT], {
    cwd: ROOT, encoding: 'utf8', timeout: 30_000,
  });
  assert.equal(logged.status, 0, logged.stderr);
  assert.match(logged.stderr, /\[\d\d:\d\d:\d\d\.\d{3} thread \d info\] tile \d+ done/);
  const help = runDemo('--help');
  for (const flag of ['--threads', '--size', '--panic', '--hang', '--log']) assert.ok(help.includes(flag), flag);
  const bad = spawnSync(process.execPath, ['demo/main.js', '--panic=nonsense'], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--panic must be one of/);
});
