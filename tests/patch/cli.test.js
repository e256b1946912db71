// The CLI and patchGlue() on files: idempotency, --out, --json, source maps, refusals
// (nothing written), exit codes, atomic writes, the marker.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, VARIANTS, buildVariants, haveEmscripten } from './helpers/variants.js';
import { patchGlue, readPatchMarker, formatPatchMarker, PatchError } from '../../patch/index.js';
import { writeFileAtomic, writeFilesAtomic } from '../../patch/write-atomic.js';

const CLI = path.join(ROOT, 'patch/cli.js');
const skip = haveEmscripten() ? false : 'Emscripten (em++) is not installed';
const pick = (name) => VARIANTS.find((v) => v.name === name);
let es6Pool;
let cjsRaw;

before(async () => {
  if (skip) return;
  const built = await buildVariants([pick('o0-es6-embind-pool'), pick('o3-cjs-raw-minify0')]);
  es6Pool = built.get('o0-es6-embind-pool');
  cjsRaw = built.get('o3-cjs-raw-minify0');
}, { timeout: 120000 });

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-patch-'));
}

function copyBuild(paths) {
  const dir = tempDir();
  for (const file of fs.readdirSync(paths.stockDir)) {
    if (file !== '.built' && file !== 'package.json') fs.copyFileSync(path.join(paths.stockDir, file), path.join(dir, file));
  }
  return { dir, glue: path.join(dir, paths.glueName) };
}

function cli(...args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

function snapshot(dir) {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

test('patches in place, reports each rewrite, and a second run changes nothing', { skip }, () => {
  const { dir, glue } = copyBuild(es6Pool);
  const first = cli(glue);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^patched .*calls\.mjs \(module [0-9a-f]{16}\)/);
  for (const name of ['raw-exports', 'embind', 'esm-node-shims', 'node-wasm-loading', 'node-process-handlers',
    'pthread-worker-cjs', 'pthread-pool-size', 'pthread-hooks', 'routing-prelude']) {
    assert.match(first.stdout, new RegExp(`\\+ ${name}:`));
  }
  assert.ok(fs.existsSync(path.join(dir, 'calls.worker.cjs')));
  assert.ok(!fs.existsSync(path.join(dir, 'calls.worker.js')));
  const map = JSON.parse(fs.readFileSync(`${glue}.map`, 'utf8'));
  assert.equal(map.version, 3);
  assert.ok(map.mappings.length > 0);
  assert.match(fs.readFileSync(glue, 'utf8'), /\/\/# sourceMappingURL=calls\.mjs\.map\n$/);

  const before = snapshot(dir);
  const second = cli(glue);
  assert.equal(second.status, 0);
  assert.match(second.stdout, /already patched \(module [0-9a-f]{16}\); nothing changed/);
  assert.deepEqual(snapshot(dir), before);
  const json = JSON.parse(cli(glue, '--json').stdout);
  assert.equal(json.ok, true);
  assert.equal(json.alreadyPatched, true);
  assert.equal(json.changed, false);
});

test('--out writes elsewhere (glue, map, worker, wasm) and leaves the input alone; --json reports', { skip }, () => {
  const { dir, glue } = copyBuild(es6Pool);
  const before = snapshot(dir);
  const outDir = tempDir();
  const out = path.join(outDir, 'patched.mjs');
  const result = cli(glue, '--out', out, '--json');
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.ok, true);
  assert.equal(report.changed, true);
  assert.equal(report.marker.worker, 'calls.worker.cjs');
  assert.deepEqual(report.written.map((f) => path.basename(f)).sort(),
    ['calls.wasm', 'calls.worker.cjs', 'patched.mjs', 'patched.mjs.map']);
  assert.ok(report.rewrites.every((r) => typeof r.name === 'string' && typeof r.detail === 'string'));
  assert.deepEqual(snapshot(dir), before);
  assert.deepEqual(readPatchMarker(fs.readFileSync(out, 'utf8')), report.marker);
  assert.deepEqual(fs.readdirSync(outDir).filter((f) => f.endsWith('.tmp')), []);
});

test('CommonJS glue without pthreads: marker and module id', { skip }, () => {
  const { dir, glue } = copyBuild(cjsRaw);
  const report = patchGlue({ input: glue });
  const marker = readPatchMarker(fs.readFileSync(glue, 'utf8'));
  assert.deepEqual(marker, report.marker);
  assert.equal(marker.es6, false);
  assert.equal(marker.pthreads, false);
  assert.equal(marker.worker, null);
  assert.equal(marker.wasm, 'calls.wasm');
  assert.equal(marker.moduleId, crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'calls.wasm'))).digest('hex').slice(0, 16));
  const skipped = Object.fromEntries(report.rewrites.map((r) => [r.name, r.applied]));
  assert.equal(skipped['esm-node-shims'], false);
  assert.equal(skipped['pthread-hooks'], false);
  assert.equal(skipped['embind'], false);
  assert.equal(skipped['raw-exports'], true);
});

function refuses(source, expected, { files = {}, name = 'glue.js' } = {}) {
  const dir = tempDir();
  const glue = path.join(dir, name);
  fs.writeFileSync(glue, source);
  for (const [file, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), data);
  const before = snapshot(dir);
  const result = cli(glue);
  assert.equal(result.status, 1, `expected a refusal, got ${result.status}\n${result.stdout}${result.stderr}`);
  assert.match(result.stderr, /refused: /);
  assert.match(result.stderr, expected);
  assert.match(result.stderr, /nothing was written/);
  assert.deepEqual(snapshot(dir), before);
  const json = JSON.parse(cli(glue, '--json').stdout);
  assert.equal(json.ok, false);
  assert.equal(json.refused, true);
  assert.deepEqual(snapshot(dir), before);
}

test('refuses text that is not JavaScript', () => {
  refuses('this is { not javascript', /not JavaScript/);
});

test('refuses JavaScript that is not Emscripten glue', () => {
  refuses('console.log("hello");\nmodule.exports = 1;\n', /Module declaration.*not found/);
});

test('refuses closure-compiled glue (--closure 1 renames the Module structures)', () => {
  // The shape closure gives 3.1.6 glue: Module renamed, locals minified.
  const closureLike = 'var b;b||(b=typeof Module!=="undefined"?Module:{});var aa=Object.assign({},b),ba=[];' +
    'function ca(a){return b.locateFile?b.locateFile(a,""):a}var da="calls.wasm";da=ca(da);' +
    'b._rawAdd=function(){return(b._rawAdd=b.asm.g).apply(null,arguments)};';
  refuses(closureLike, /closure/, { files: { 'calls.wasm': 'x' } });
});

test('refuses glue with a structure missing, naming it', { skip }, () => {
  const text = fs.readFileSync(cjsRaw.stockGlue, 'utf8');
  const wasm = fs.readFileSync(path.join(cjsRaw.stockDir, 'calls.wasm'));
  // No pre-js position.
  refuses(text.replace(/var moduleOverrides\b/g, 'var overridesRenamed').replace(/\bmoduleOverrides\b/g, 'overridesRenamed'),
    /pre-js position/, { files: { 'calls.wasm': wasm } });
  // No export assignments.
  refuses(text.replace(/Module\["(_\w+|___\w+|stack\w+|dynCall_\w+)"\] = /g, ''), /export assignments/,
    { files: { 'calls.wasm': wasm } });
  // The .wasm it names is absent.
  refuses(text, /calls\.wasm.*not found/);
});

test('refuses -pthread glue whose worker file is absent', { skip }, () => {
  const { dir, glue } = copyBuild(es6Pool);
  fs.rmSync(path.join(dir, 'calls.worker.js'));
  const before = snapshot(dir);
  const result = cli(glue);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /calls\.worker\.js was not found/);
  assert.deepEqual(snapshot(dir), before);
});

test('usage errors exit 2', () => {
  assert.equal(cli().status, 2);
  assert.equal(cli('--bogus', 'x.js').status, 2);
  const missing = cli(path.join(os.tmpdir(), 'does-not-exist-glue.js'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read/);
  assert.equal(cli('--help').status, 0);
});

test('patchGlue throws PatchError with the missing structure', () => {
  const dir = tempDir();
  const glue = path.join(dir, 'x.js');
  fs.writeFileSync(glue, 'var x = 1;');
  assert.throws(() => patchGlue({ input: glue }), (error) => error instanceof PatchError && /Module declaration/.test(error.missing));
});

test('readPatchMarker reads only a well-formed first line', () => {
  const marker = { moduleId: '0123456789abcdef', wasm: 'a.wasm', worker: null, es6: true, pthreads: false };
  const line = formatPatchMarker(marker);
  assert.equal(line, '// wasm-threadpool-patch v1 {"moduleId":"0123456789abcdef","wasm":"a.wasm","worker":null,"es6":true,"pthreads":false}');
  assert.deepEqual(readPatchMarker(`${line}\nvar x;`), marker);
  assert.deepEqual(readPatchMarker(line), marker);
  assert.equal(readPatchMarker(`\n${line}`), null);
  assert.equal(readPatchMarker('// wasm-threadpool-patch v1 {broken'), null);
  assert.equal(readPatchMarker('var Module;'), null);
  assert.equal(readPatchMarker(''), null);
});

test('atomic writes: a failed rename leaves the destination and no temp file', () => {
  const dir = tempDir();
  const target = path.join(dir, 'out.js');
  writeFileAtomic(target, 'one');
  assert.equal(fs.readFileSync(target, 'utf8'), 'one');
  writeFileAtomic(target, 'two');
  assert.equal(fs.readFileSync(target, 'utf8'), 'two');
  // A directory in the way: the rename fails, the temp file is cleaned up.
  const blocked = path.join(dir, 'blocked');
  fs.mkdirSync(path.join(blocked, 'inner'), { recursive: true });
  assert.throws(() => writeFileAtomic(blocked, 'x'));
  // Staging fails for the second file: the first destination is not touched either.
  assert.throws(() => writeFilesAtomic([{ path: target, data: 'three' }, { path: path.join(dir, 'missing-dir', 'f'), data: 'x' }]));
  assert.equal(fs.readFileSync(target, 'utf8'), 'two');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});
