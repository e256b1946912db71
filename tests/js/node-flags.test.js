// The host and its threads start under whatever flags the main process runs with: heap
// limits, V8 flags, main-script flags, and the same through NODE_OPTIONS. Each case is a
// real child process started with the flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { DEMO_GLUE_PATH } from './helpers.js';
import { heapLimitFlag, invalidFlagsOf, withoutMainScriptFlags } from '../../glue/main/worker-flags.js';

const CHILD = fileURLToPath(new URL('./fixtures/flags-child.mjs', import.meta.url));
const HEAP_CHILD = fileURLToPath(new URL('./fixtures/heap-child.mjs', import.meta.url));
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

// V8 reports heap_size_limit as the old generation's limit plus the young generation's, so
// the two processes' figures are compared with each other, and the flag with resourceLimits.
function assertHostHeapLimit(result, mb) {
  assert.equal(result.host.maxOldGenerationSizeMb, mb, 'the host\'s worker_threads.resourceLimits says the flag');
  assert.equal(result.host.heapSizeLimitMb, result.main.heapSizeLimitMb, 'and the host\'s heap is bounded like main\'s');
  assert.ok(result.main.heapSizeLimitMb < mb + 100, `the flag is in force (${result.main.heapSizeLimitMb} MiB)`);
}

test('node --max-old-space-size=200 app.mjs: the host runs under that heap limit, which its resourceLimits report', () => {
  const result = run(['--max-old-space-size=200', HEAP_CHILD]);
  assert.deepEqual(result.execArgv, ['--max-old-space-size=200'], 'a real Node flag, nothing about the main script');
  assertHostHeapLimit(result, 200);
});

test('NODE_OPTIONS=--max-old-space-size=180, and a command-line flag over it: the host follows the one in force', () => {
  assertHostHeapLimit(run([HEAP_CHILD], { NODE_OPTIONS: '--max-old-space-size=180' }), 180);
  assertHostHeapLimit(run(['--max-old-space-size=220', HEAP_CHILD], { NODE_OPTIONS: '--max-old-space-size=180' }), 220);
});

test('node --max-old-space-size=240 --input-type=module -e <code>: the same', () => {
  const code = readFileSync(HEAP_CHILD, 'utf8')
    .replace("'../../../glue/index.js'", JSON.stringify(new URL('../../glue/index.js', import.meta.url).href))
    .replace("new URL('./jobs/heap-limits.mjs', import.meta.url)", JSON.stringify(new URL('./fixtures/jobs/heap-limits.mjs', import.meta.url).href));
  assertHostHeapLimit(run(['--max-old-space-size=240', '--input-type=module', '-e', code]), 240);
});

test('heap limit flag: the last one wins, the command line over NODE_OPTIONS; none without one', () => {
  assert.equal(heapLimitFlag([], undefined), undefined);
  assert.equal(heapLimitFlag(['--expose-gc'], '--no-warnings'), undefined);
  assert.equal(heapLimitFlag(['--max-old-space-size=100', '--max_old_space_size=300'], undefined), 300);
  assert.equal(heapLimitFlag([], ' --expose-gc  --max-old-space-size=150 '), 150);
  assert.equal(heapLimitFlag(['--max-old-space-size=400'], '--max-old-space-size=150'), 400);
});
