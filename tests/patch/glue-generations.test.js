// The newest shell's structures, on a reduced glue in the shape of Emscripten 6.0.x output
// (fixtures/shell-6x.mjs: no moduleOverrides, assignWasmExports, `var instantiateWasm =
// Module["instantiateWasm"]`, the glue as its own pthread worker). No npm package built with
// it is in the devDependencies; npm-glue.test.js covers the real files of older releases.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { patchGlue, patchGlueText, readPatchMarker, PatchError } from '../../patch/index.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-patch-gen-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function fixtureDir(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of ['shell-6x.mjs', 'shell-6x.wasm']) fs.copyFileSync(path.join(FIXTURES, file), path.join(dir, file));
  return dir;
}

const detail = (report, name) => report.rewrites.find((r) => r.name === name);

test('6.0.x shell: pre-js before programArgs, exports routed in assignWasmExports, the glue as worker follows --out', async () => {
  const dir = fixtureDir('out');
  const out = path.join(dir, 'renamed.mjs');
  const report = patchGlue({ input: path.join(dir, 'shell-6x.mjs'), out });
  // Its `await import("node:module")` has no spelling in a function body: the host imports it.
  assert.deepEqual({ ...report.marker, moduleId: 'x' },
    { moduleId: 'x', wasm: 'shell-6x.wasm', worker: 'renamed.mjs', es6: true, pthreads: true, workerIsGlue: true,
      asScript: false });
  assert.deepEqual(readPatchMarker(fs.readFileSync(out, 'utf8')), report.marker);
  assert.match(detail(report, 'raw-exports').detail, /routed _add$/);
  assert.match(detail(report, 'pthread-worker-cjs').detail, /new URL\("shell-6x\.mjs", import\.meta\.url\) -> "renamed\.mjs"/);
  assert.match(detail(report, 'pthread-pool-size').detail, /Promise\.all/);
  assert.match(detail(report, 'pthread-hooks').detail, /recent glue: the glue is its own worker/);
  const code = fs.readFileSync(out, 'utf8');
  assert.match(code, /new Worker\(new URL\("renamed\.mjs", import\.meta\.url\)/);
  // The prelude sits between the environment detection and `var programArgs`.
  assert.ok(code.indexOf('var __wasmpoolModuleId') < code.indexOf('var programArgs'));
  assert.ok(code.indexOf('var ENVIRONMENT_IS_PTHREAD') < code.indexOf('var __wasmpoolModuleId'));
  // The supplied-module hook precedes the read of Module.instantiateWasm.
  assert.ok(code.indexOf('instantiate the supplied Module.wasmModule') < code.indexOf('var instantiateWasm = Module["instantiateWasm"]'));
  assert.ok(!fs.existsSync(path.join(dir, 'renamed.worker.cjs')));

  const create = (await import(pathToFileURL(out).href)).default;
  const M = await create();
  assert.equal(M._add(2, 3), 5);
  assert.equal(M.ccall('add', 'number', ['number', 'number'], [4, 5]), 9);
  assert.deepEqual(M.__wasmProxyExports, ['_add']);
  const calls = [];
  globalThis.__wasmProxy = { claims: (id) => id === report.marker.moduleId, call: (id, name, args) => { calls.push([name, args]); return -1; } };
  try {
    assert.equal(M._add(1, 2), -1);
    assert.equal(M.ccall('add', 'number', ['number', 'number'], [1, 2]), 3);
  } finally {
    delete globalThis.__wasmProxy;
  }
  assert.deepEqual(calls, [['_add', [1, 2]]]);
  // Module.wasmModule is used when given (the .wasm path it would read does not exist).
  const wasmModule = new WebAssembly.Module(fs.readFileSync(path.join(dir, 'shell-6x.wasm')));
  const supplied = await create({ wasmModule, locateFile: () => '/nonexistent/shell-6x.wasm' });
  assert.equal(supplied._add(20, 3), 23);
});

test('6.0.x shell in place: the self-worker literal keeps its name; a second run changes nothing', () => {
  const dir = fixtureDir('inplace');
  const glue = path.join(dir, 'shell-6x.mjs');
  const report = patchGlue({ input: glue });
  assert.equal(report.marker.worker, 'shell-6x.mjs');
  assert.equal(detail(report, 'pthread-worker-cjs').applied, false);
  assert.match(fs.readFileSync(glue, 'utf8'), /new Worker\(new URL\("shell-6x\.mjs", import\.meta\.url\)/);
  const text = fs.readFileSync(glue, 'utf8');
  const again = patchGlue({ input: glue });
  assert.equal(again.alreadyPatched, true);
  assert.equal(fs.readFileSync(glue, 'utf8'), text);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['shell-6x.mjs', 'shell-6x.mjs.map', 'shell-6x.wasm']);
});

test('Closure-compiled moduleArg glue (Module kept, runtime renamed) is refused with the rebuild hint', () => {
  // The shape Closure gives recent glue: `var Module = moduleArg` survives, nothing else does.
  const closureLike = 'async function V(moduleArg={}){var Module=moduleArg;var a=!!globalThis.window,b=[],c="./this.program";' +
    'function d(e){return Module.locateFile?Module.locateFile(e,""):e}var f;function g(){return d("v.wasm")}' +
    'var h=Module.instantiateWasm;Module._v=k=>l.v(k);var l;return Module}export default V;';
  assert.throws(() => patchGlueText(closureLike, { moduleId: '0123456789abcdef' }), (error) => {
    assert.ok(error instanceof PatchError);
    assert.match(error.message, /pre-js position/);
    assert.match(error.message, /rebuild without --closure 1/);
    return true;
  });
});
