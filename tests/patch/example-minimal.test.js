// examples/minimal builds with emcmake + add_wasm_threadpool_module(), its POST_BUILD
// step patches the glue, and the patched glue runs the pool in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, emEnv, haveEmscripten } from './helpers/variants.js';
import { readPatchMarker, patchGlue } from '../../patch/index.js';

const skip = haveEmscripten() ? false : 'Emscripten (em++) is not installed';
const BUILD = path.join(ROOT, 'build/patch-variants/example-minimal');

test('examples/minimal builds, is patched, and runs the pool', { skip, timeout: 300000 }, () => {
  const env = emEnv();
  if (!fs.existsSync(path.join(BUILD, 'CMakeCache.txt'))) {
    execFileSync('emcmake', ['cmake', '-S', path.join(ROOT, 'examples/minimal'), '-B', BUILD,
      `-DWASM_THREADPOOL_DIR=${ROOT}`], { env, stdio: 'pipe' });
  }
  execFileSync('cmake', ['--build', BUILD, '-j2'], { env, stdio: 'pipe' });

  const glue = path.join(BUILD, 'minimal.mjs');
  const marker = readPatchMarker(fs.readFileSync(glue, 'utf8'));
  assert.ok(marker, 'the POST_BUILD step patched the glue');
  assert.deepEqual({ ...marker, moduleId: 'x' },
    { moduleId: 'x', wasm: 'minimal.wasm', worker: 'minimal.worker.cjs', es6: true, pthreads: true, workerIsGlue: false,
      asScript: true });
  assert.match(marker.moduleId, /^[0-9a-f]{16}$/);
  assert.ok(fs.existsSync(path.join(BUILD, 'minimal.worker.cjs')));

  // Running the patch again (as a rebuild without relink would) changes nothing.
  const before = fs.readFileSync(glue, 'utf8');
  const again = patchGlue({ input: glue });
  assert.equal(again.alreadyPatched, true);
  assert.equal(fs.readFileSync(glue, 'utf8'), before);

  const child = spawnSync(process.execPath, [path.join(ROOT, 'tests/patch/helpers/run-minimal.mjs'), glue],
    { encoding: 'utf8', timeout: 60000 });
  const line = (child.stdout || '').split('\n').find((l) => l.startsWith('@@RESULT@@'));
  assert.ok(line, `run failed (${child.status}):\n${child.stdout}\n${child.stderr}`);
  const { main, inWorker } = JSON.parse(line.slice('@@RESULT@@'.length));
  for (const run of [main, inWorker]) {
    assert.equal(run.sum, 332833500);
    assert.equal(run.id, marker.moduleId);
    assert.ok(run.exports.includes('sumOfSquares'));
    assert.ok(!run.exports.includes('_wasmpool_runtime_hooks'), 'runtime internals are not routable');
    assert.match(run.threw, /n must not be negative/);
  }
});
