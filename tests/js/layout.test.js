// The shared-memory layouts have one definition, in C++; runtimeInfo() reports it at
// start-up and every JavaScript reader uses what it reports. This test has C++ write a
// crash record and advance the progress word in a real module, and reads both with the
// decoders main uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readCrashRecord, readProgress } from '../../glue/main/crash-record.js';
import { MAX_THREADS } from '../../glue/main/options.js';
import { LOG_LEVELS } from '../../glue/shared/protocol.cjs';

const THREADS_GLUE = fileURLToPath(new URL('../../build/wasm/tests/modules/threads_module.mjs', import.meta.url));

test('runtimeInfo() reports the layouts C++ uses, and the decoders read what C++ wrote', async () => {
  const mod = await (await import(THREADS_GLUE)).default();
  const info = mod.runtimeInfo();
  const record = info.crashRecord;
  assert.deepEqual(record.kinds, ['unknown', 'trap', 'abort', 'oob', 'stack-overflow', 'exception', 'terminate', 'out-of-memory']);
  for (const field of ['address', 'state', 'thread', 'kind', 'length', 'pthread', 'message', 'capacity']) {
    assert.equal(typeof record[field], 'number', field);
  }
  assert.equal(info.progress.workers, MAX_THREADS, 'options.threads is bounded by what C++ sizes its slots for');
  assert.deepEqual(info.logLevels, LOG_LEVELS, 'wasmpool::log levels by number, as main names them');
  assert.deepEqual(record.states, { empty: 0, writing: 1, complete: 2 });

  const before = readProgress(mod.wasmMemory, info.progress);
  mod.reportProgressTimes(3);
  assert.equal(readProgress(mod.wasmMemory, info.progress), (before + 3) >>> 0);

  assert.equal(readCrashRecord(mod.wasmMemory, record), null);
  assert.equal(mod.writeCrashRecord(record.kinds.indexOf('out-of-memory'), 'written by C++'), true);
  const decoded = readCrashRecord(mod.wasmMemory, record);
  assert.equal(decoded.kind, 'out-of-memory');
  assert.equal(decoded.message, 'written by C++');
  assert.equal(decoded.thread, -1, 'not a pool thread');
  assert.ok(decoded.pthread > 0, 'the writer\'s pthread id');
  assert.equal(mod.writeCrashRecord(1, 'second'), false, 'first crash wins');
});
