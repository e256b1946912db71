// The host and its threads start under whatever flags the main process runs with: heap
// limits, V8 flags, main-script flags, and the same through NODE_OPTIONS. Each case is a
// real child process started with the flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { DEMO_GLUE_PATH } from './helpers.js';
import { invalidFlagsOf, withoutMainScriptFlags } from '../../glue/worker-flags.js';

const CHILD = fileURLToPath(new URL('./fixtures/flags-child.mjs', import.meta.url));
const EXPECTED = { sum: 4999950000, crash: 'ERR_WASM_PANIC', after: 5 };

function run(args, env = {}) {
  const child = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  assert.equal(child.status, 0, `exit ${child.status}: ${child.stderr}`);
  const line = child.stdout.trim().split('\n').at(-1);
  return JSON.parse(line);
}

const CASES = [
  ['--max-old-space-size=512', ['--max-old-space-size=512']],
  ['--expose-gc', ['--expose-gc']],
  ['--max-old-space-size with --expose-gc and --stack-size', ['--max-old-space-size=384', '--expose-gc', '--stack-size=2000']],
  ['--enable-source-maps --no-warnings --trace-uncaught', ['--enable-source-maps', '--no-warnings', '--trace-uncaught']],
  ['--abort-on-uncaught-exception', ['--abort-on-uncaught-exception']],
];

for (const [name, flags] of CASES) {
  test(`node ${name} app.mjs: every call works`, () => {
    const result = run([...flags, CHILD, DEMO_GLUE_PATH]);
    assert.deepEqual({ ...result, execArgv: undefined }, { ...EXPECTED, execArgv: undefined });
    assert.deepEqual(result.execArgv, flags);
  });
}

test('NODE_OPTIONS=--max-old-space-size=300 --expose-gc: every call works', () => {
  const result = run([CHILD, DEMO_GLUE_PATH], { NODE_OPTIONS: '--max-old-space-size=300 --expose-gc' });
  assert.equal(result.sum, EXPECTED.sum);
  assert.equal(result.crash, EXPECTED.crash);
  assert.equal(result.after, EXPECTED.after);
});

test('node --input-type=module -e <code> --max-old-space-size=256: every call works', () => {
  const code = readFileSync(CHILD, 'utf8')
    .replace("'../../../glue/index.js'", JSON.stringify(new URL('../../glue/index.js', import.meta.url).href))
    .replace('process.argv[2]', JSON.stringify(DEMO_GLUE_PATH));
  const result = run(['--max-old-space-size=256', '--input-type=module', '-e', code]);
  assert.equal(result.sum, EXPECTED.sum);
  assert.equal(result.crash, EXPECTED.crash);
});

test('worker flags: main-script flags and their values are dropped; refused flags are read from Node\'s error', () => {
  assert.equal(withoutMainScriptFlags(['--expose-gc']), null, 'nothing to drop: inherit');
  assert.deepEqual(withoutMainScriptFlags(['--input-type=module', '-e', 'code', '--expose-gc']), ['--expose-gc']);
  assert.deepEqual(withoutMainScriptFlags(['--input-type', 'module', '--eval=x', '-p', 'y']), []);
  const error = Object.assign(new Error('Initiated Worker with invalid execArgv flags: --max-old-space-size=512, --expose-gc'),
    { code: 'ERR_WORKER_INVALID_EXEC_ARGV' });
  assert.deepEqual(invalidFlagsOf(error), ['--max-old-space-size=512', '--expose-gc']);
});
