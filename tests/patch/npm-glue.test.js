// Glue that other people built with other Emscripten releases, from npm packages installed
// as devDependencies. Each package is copied into a temp dir and patched there (twice: the
// second run must change nothing); then the package's own API runs in child processes on
// the installed original and on the patched copy, and the results must be identical.
//
//   @jsquash/avif 2.1.1               moduleArg shell, ES6, x.worker.mjs     (~3.1.46..3.1.57)
//   z3-solver 5.2.0                   moduleArg shell, CommonJS, the glue is its own
//                                     pthread worker                         (~3.1.59..4.0.6)
//   @tensorflow/tfjs-backend-wasm     legacy shell, Module.asm exports, a "worker" file that
//     4.22.0                          is a module exporting the worker source (<= 3.1.41)
//   stockfish 19.0.0                  Closure-compiled (3.1.7): refused, with a hint
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchGlue, readPatchMarker, PatchError } from '../../patch/index.js';
import { runHelper } from './helpers/run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-npm-glue-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function installed(name, version) {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(NODE_MODULES, name, 'package.json'), 'utf8'));
    return pkg.version === version ? false : `${name} ${version} is not installed (found ${pkg.version}): run npm ci`;
  } catch {
    return `${name} ${version} is not installed: run npm ci`;
  }
}

// Copies node_modules/<name> to <work>/<tree>/node_modules/<name>; `links` are packages it
// needs, linked to the installed ones.
function copyPackage(tree, name, links = []) {
  const modules = path.join(work, tree, 'node_modules');
  const dest = path.join(modules, name);
  fs.cpSync(path.join(NODE_MODULES, name), dest, { recursive: true });
  for (const link of links) {
    fs.mkdirSync(path.dirname(path.join(modules, link)), { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(NODE_MODULES, link)), path.join(modules, link), 'dir');
  }
  return dest;
}

function snapshot(dir) {
  const files = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isFile()) files[name] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
  }
  return files;
}

// Patches in place; a second run must report "already patched" and touch nothing.
function patchTwice(glue) {
  const report = patchGlue({ input: glue });
  assert.equal(report.changed, true);
  assert.deepEqual(readPatchMarker(fs.readFileSync(glue, 'utf8')), report.marker);
  const before = snapshot(path.dirname(glue));
  const again = patchGlue({ input: glue });
  assert.equal(again.alreadyPatched, true);
  assert.equal(again.changed, false);
  assert.deepEqual(again.written, []);
  assert.deepEqual(again.warnings, []);
  assert.deepEqual(snapshot(path.dirname(glue)), before);
  return report;
}

function rewrite(report, name) {
  const entry = report.rewrites.find((r) => r.name === name);
  assert.ok(entry, `rewrite ${name} reported`);
  return entry;
}

async function runChild(script, args, { timeoutMs = 60000 } = {}) {
  return (await runHelper(path.join('npm', script), args, { timeoutMs })).results;
}

test('@jsquash/avif 2.1.1: moduleArg ES6 glue with a .worker.mjs; encode() gives the same bytes', {
  skip: installed('@jsquash/avif', '2.1.1'), timeout: 120000,
}, async () => {
  const copy = copyPackage('avif', '@jsquash/avif', ['wasm-feature-detect']);
  const enc = path.join(copy, 'codec/enc');
  const mt = patchTwice(path.join(enc, 'avif_enc_mt.js'));
  assert.deepEqual({ ...mt.marker, moduleId: 'x' },
    { moduleId: 'x', wasm: 'avif_enc_mt.wasm', worker: 'avif_enc_mt.worker.mjs', es6: true, pthreads: true, workerIsGlue: false,
      asScript: true });
  assert.equal(rewrite(mt, 'embind').applied, true);
  assert.equal(rewrite(mt, 'esm-node-shims').applied, true);
  assert.match(rewrite(mt, 'pthread-pool-size').detail, /Promise\.all/);
  // The ES module worker keeps its name (it is no CommonJS file) and is rewritten in place.
  const worker = fs.readFileSync(path.join(enc, 'avif_enc_mt.worker.mjs'), 'utf8');
  assert.match(worker, /__wasmpoolPrintErr/);
  assert.match(worker, /import\("\.\/avif_enc_mt\.js"\)/);
  assert.ok(!fs.existsSync(path.join(enc, 'avif_enc_mt.worker.cjs')));
  const st = patchTwice(path.join(enc, 'avif_enc.js'));
  assert.equal(st.marker.pthreads, false);

  const [stock, patched] = await Promise.all([
    runChild('avif.mjs', [path.join(NODE_MODULES, '@jsquash/avif'), '0', '0']),
    runChild('avif.mjs', [copy, '1', '1']),
  ]);
  assert.deepEqual(patched.publicApi, stock.publicApi);
  assert.deepEqual(patched.mt, stock.mt);
  assert.ok(stock.publicApi.bytes > 100);
  // The threaded build encodes the same image to the same bytes.
  assert.deepEqual(stock.mt, stock.publicApi);
  // Module.wasmModule (no instantiateWasm): the patched glue instantiates it.
  assert.deepEqual(patched.mtSupplied, stock.mt);
  // The embind function is routed through a claiming proxy, and runs locally otherwise.
  assert.equal(patched.routing.id, mt.marker.moduleId);
  assert.deepEqual(patched.routing.exports, ['encode']);
  assert.equal(patched.routing.routed, 'routed:encode');
  assert.deepEqual(patched.routing.calls, [[mt.marker.moduleId, 'encode', 4]]);
  assert.deepEqual(patched.routing.unclaimed, stock.mt);
});

test('z3-solver 5.2.0: moduleArg CommonJS glue that is its own pthread worker; check() gives the same model', {
  skip: installed('z3-solver', '5.2.0'), timeout: 120000,
}, async () => {
  const copy = copyPackage('z3', 'z3-solver', ['async-mutex']);
  const build = path.join(copy, 'build');
  const files = Object.keys(snapshot(build));
  const report = patchTwice(path.join(build, 'z3-built.js'));
  assert.deepEqual({ ...report.marker, moduleId: 'x' },
    { moduleId: 'x', wasm: 'z3-built.wasm', worker: 'z3-built.js', es6: false, pthreads: true, workerIsGlue: true });
  // No worker file to write or remove: only the glue and its source map.
  assert.deepEqual(Object.keys(snapshot(build)).sort(), [...files, 'z3-built.js.map'].sort());
  assert.match(rewrite(report, 'pthread-worker-cjs').detail, /its own pthread worker/);
  assert.match(rewrite(report, 'raw-exports').detail, /_Z3_mk_config/);

  const [stock, patched] = await Promise.all([
    runChild('z3.cjs', [path.join(NODE_MODULES, 'z3-solver'), '0']),
    runChild('z3.cjs', [copy, '1']),
  ]);
  // How many workers the glue makes is its own timing business (one or two): compared
  // apart from the results.
  const { routing, workers: patchedWorkers, ...patchedResults } = patched;
  const { workers: stockWorkers, ...stockResults } = stock;
  assert.deepEqual(patchedResults, stockResults);
  assert.equal(stock.check, 'sat');
  assert.deepEqual(stock.model, { x: '7', y: '21' });
  assert.equal(stock.unsat, 'unsat');
  // The check ran on a pthread whose worker script is the glue itself (here: the patched copy).
  for (const workers of [stockWorkers, patchedWorkers]) {
    assert.ok(workers.length >= 1);
    for (const worker of workers) assert.equal(worker.workerData, 'em-pthread');
  }
  for (const worker of stockWorkers) assert.equal(worker.script, 'build/z3-built.js');
  assert.equal(routing.id, report.marker.moduleId);
  assert.equal(routing.routed, 'routed:_Z3_mk_config');
  assert.deepEqual(routing.calls, [[report.marker.moduleId, '_Z3_mk_config', []]]);
  assert.equal(routing.local, 'number');
});

test('@tensorflow/tfjs-backend-wasm 4.22.0: legacy glue; tensor ops give the same values', {
  skip: installed('@tensorflow/tfjs-backend-wasm', '4.22.0') || installed('@tensorflow/tfjs-core', '4.22.0'),
  timeout: 120000,
}, async () => {
  const copy = copyPackage('tfjs', '@tensorflow/tfjs-backend-wasm', ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu']);
  const out = path.join(copy, 'wasm-out');
  const workerModule = fs.readFileSync(path.join(out, 'tfjs-backend-wasm-threaded-simd.worker.js'));
  const threaded = patchTwice(path.join(out, 'tfjs-backend-wasm-threaded-simd.js'));
  // tfjs's x.worker.js exports the worker's source as a string (the backend starts workers
  // from a blob and imports this module by name): it is left exactly as it was.
  assert.deepEqual({ ...threaded.marker, moduleId: 'x' }, {
    moduleId: 'x', wasm: 'tfjs-backend-wasm-threaded-simd.wasm', worker: 'tfjs-backend-wasm-threaded-simd.worker.js',
    es6: false, pthreads: true, workerIsGlue: false,
  });
  assert.match(rewrite(threaded, 'pthread-worker-cjs').detail, /not a worker script/);
  assert.deepEqual(fs.readFileSync(path.join(out, 'tfjs-backend-wasm-threaded-simd.worker.js')), workerModule);
  assert.equal(rewrite(threaded, 'pthread-pool-size').applied, true);
  const single = patchTwice(path.join(out, 'tfjs-backend-wasm.js'));
  assert.equal(single.marker.pthreads, false);
  assert.match(rewrite(single, 'raw-exports').detail, /_Add\b/);

  const core = (root) => path.join(root, '..', 'tfjs-core');
  const stockRoot = path.join(NODE_MODULES, '@tensorflow/tfjs-backend-wasm');
  const [stock, patched] = await Promise.all([
    runChild('tfjs.mjs', [stockRoot, core(stockRoot), '0']),
    runChild('tfjs.mjs', [copy, core(copy), '1']),
  ]);
  // How many workers the glue makes is its own timing business (one or two): compared
  // apart from the results.
  const { routing, workers: patchedWorkers, ...patchedResults } = patched;
  const { workers: stockWorkers, ...stockResults } = stock;
  assert.deepEqual(patchedResults, stockResults);
  assert.equal(stock.backend, 'wasm');
  assert.deepEqual(stock.matMul, [[-4.5, 11.5], [-6, 21.25]]);
  assert.deepEqual(stock.sum, [6, 15]);
  assert.equal(routing.id, single.marker.moduleId);
  assert.equal(routing.routable, 144);
  assert.deepEqual(routing.calls, [[single.marker.moduleId, '_get_threads_count', 0]]);
});

test('stockfish 19.0.0: Closure-compiled glue is refused with a rebuild hint, nothing written', {
  skip: installed('stockfish', '19.0.0'),
}, () => {
  const dir = path.join(work, 'stockfish');
  fs.mkdirSync(dir, { recursive: true });
  for (const flavour of ['stockfish-19-lite', 'stockfish-19-lite-single']) {
    for (const ext of ['.js', '.wasm']) {
      fs.copyFileSync(path.join(NODE_MODULES, 'stockfish/bin', flavour + ext), path.join(dir, flavour + ext));
    }
  }
  const before = snapshot(dir);
  for (const flavour of ['stockfish-19-lite', 'stockfish-19-lite-single']) {
    assert.throws(() => patchGlue({ input: path.join(dir, `${flavour}.js`) }), (error) => {
      assert.ok(error instanceof PatchError);
      assert.match(error.message, /Module declaration/);
      assert.match(error.message, /Closure-compiled \(--closure 1\)/);
      assert.match(error.message, /rebuild without --closure 1/);
      assert.doesNotMatch(error.message, /not (recognised|Emscripten)/i);
      assert.match(error.missing, /Module declaration/);
      return true;
    });
  }
  assert.deepEqual(snapshot(dir), before);
});
