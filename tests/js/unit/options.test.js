// Option checking, without Emscripten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateExecuteOptions, validateOptions } from '../../../glue/main/options.js';
import { detectorsFor } from '../../../glue/main/detectors.js';

test('defaults are filled in and the result is frozen', () => {
  const options = validateOptions({ module: 'x.mjs' }, 8);
  assert.equal(options.threads, 8);
  assert.equal(options.heartbeatTimeoutMs, 5000);
  assert.equal(options.maxExtraThreads, 64);
  assert.equal(options.crashDetection, 'fast');
  assert.ok(Object.isFrozen(options));
  assert.equal(validateOptions({ module: 'x.mjs' }, 200).threads, 64, 'capped at the pool maximum');
});

test('each bad option names itself', () => {
  const bad = [
    [{ module: 42 }, /options\.module must be the path or file: URL of Emscripten glue/],
    [{ wasm: 'x.wasm' }, /options\.wasm is the \.wasm of options\.module; give the module too/],
    [{ module: 'x', threads: 0 }, /options\.threads must be an integer from 1 to 64/],
    [{ module: 'x', heartbeatTimeoutMs: 100, heartbeatIntervalMs: 200 }, /heartbeatTimeoutMs \(100\) must be greater/],
    [{ module: 'x', crashDetection: 'slow' }, /crashDetection must be one of fast, heartbeat-only/],
    [{ module: 'x', maxExtraThreads: 2000 }, /maxExtraThreads must be an integer from 0 to 1024/],
    [{ module: 'x', standby: 'yes' }, /standby must be a boolean/],
    [{ module: 'x', log: 'console' }, /options\.log must be a function/],
    [{ module: 'x', treads: 2 }, /unknown option "treads"/],
  ];
  for (const [options, pattern] of bad) assert.throws(() => validateOptions(options, 2), pattern);
  assert.throws(() => validateOptions(null, 2), TypeError);
  // No module: a host for run() jobs only.
  assert.equal(validateOptions({}, 2).module, undefined);
});

test('execute() options', () => {
  assert.deepEqual(validateExecuteOptions({}), { signal: undefined, timeoutMs: undefined, hangTimeoutMs: undefined });
  assert.equal(validateExecuteOptions({ hangTimeoutMs: false }).hangTimeoutMs, Infinity);
  assert.equal(validateExecuteOptions({ hangTimeoutMs: Infinity }).hangTimeoutMs, Infinity);
  assert.equal(validateExecuteOptions({ hangTimeoutMs: 250 }).hangTimeoutMs, 250);
  assert.throws(() => validateExecuteOptions({ hangTimeoutMs: 5 }), /from 10/);
  assert.throws(() => validateExecuteOptions({ timeoutMs: -1 }), /timeoutMs/);
  assert.throws(() => validateExecuteOptions({ signal: {} }), /AbortSignal/);
  assert.throws(() => validateExecuteOptions({ retry: 1 }), /unknown execute\(\) option "retry"/);
});

test('crash detection modes are sets of detectors', () => {
  assert.deepEqual([...detectorsFor('fast')], ['thread-ports', 'host-report', 'worker-exit', 'watchdog']);
  assert.deepEqual([...detectorsFor('heartbeat-only')], ['watchdog']);
  assert.throws(() => detectorsFor('psychic'), RangeError);
});
