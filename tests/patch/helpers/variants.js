// Builds the Emscripten test programs in a covering set of configurations, cached under
// build/patch-variants/<name>-<hash of sources, flags and emcc version>/stock/.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = path.join(ROOT, 'tests/patch/fixtures');
export const VARIANTS_DIR = path.join(ROOT, 'build/patch-variants');
export const HOOKS = path.join(ROOT, 'glue/pthread/pthread-hooks.js');

export function emEnv() {
  return { ...process.env, NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs' };
}

export function haveEmscripten() {
  try {
    execFileSync('em++', ['--version'], { env: emEnv(), stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const COMMON = ['-fexceptions', '-sEXPORTED_RUNTIME_METHODS=ccall'];
const MOD_ES6 = ['-sMODULARIZE=1', '-sEXPORT_ES6=1', '-sEXPORT_NAME=createCalls'];
const MOD_CJS = ['-sMODULARIZE=1', '-sEXPORT_NAME=createCalls'];
const POOL = ['-pthread', '-sPTHREAD_POOL_SIZE=2'];

// kind: es6 (MODULARIZE + EXPORT_ES6), cjs (MODULARIZE, CommonJS), plain (no MODULARIZE).
// threads: built with a prewarmed pool, so threadSum can run on the main runtime thread.
export const VARIANTS = [
  { name: 'o0-es6-embind-pool', source: 'calls.cpp', kind: 'es6', embind: true, pthreads: true, threads: true,
    flags: ['-O0', ...POOL, '--bind', ...MOD_ES6] },
  { name: 'o2-es6-embind-pool-prejs', source: 'calls.cpp', kind: 'es6', embind: true, pthreads: true, threads: true,
    flags: ['-O2', ...POOL, '--bind', '--profiling-funcs', `--pre-js=${HOOKS}`, ...MOD_ES6] },
  { name: 'o3-es6-embind', source: 'calls.cpp', kind: 'es6', embind: true, pthreads: false,
    flags: ['-O3', '--bind', ...MOD_ES6] },
  { name: 'oz-es6-embind-pthread-minify0', source: 'calls.cpp', kind: 'es6', embind: true, pthreads: true, threads: false,
    flags: ['-Oz', '--minify', '0', '-pthread', '--bind', ...MOD_ES6] },
  { name: 'o0-cjs-embind', source: 'calls.cpp', kind: 'cjs', embind: true, pthreads: false,
    flags: ['-O0', '--bind', ...MOD_CJS] },
  { name: 'o2-cjs-embind-pool', source: 'calls.cpp', kind: 'cjs', embind: true, pthreads: true, threads: true,
    flags: ['-O2', ...POOL, '--bind', ...MOD_CJS] },
  { name: 'o3-plain-embind', source: 'calls.cpp', kind: 'plain', embind: true, pthreads: false,
    flags: ['-O3', '--bind'] },
  { name: 'oz-plain-embind-pool', source: 'calls.cpp', kind: 'plain', embind: true, pthreads: true, threads: true,
    flags: ['-Oz', ...POOL, '--bind'] },
  { name: 'o2-plain-raw', source: 'raw.c', kind: 'plain', embind: false, pthreads: false,
    flags: ['-O2'] },
  { name: 'o0-es6-raw-pthread', source: 'raw.c', kind: 'es6', embind: false, pthreads: true, threads: false,
    flags: ['-O0', '-pthread', ...MOD_ES6] },
  { name: 'o3-cjs-raw-minify0', source: 'raw.c', kind: 'cjs', embind: false, pthreads: false,
    flags: ['-O3', '--minify', '0', ...MOD_CJS] },
  { name: 'oz-es6-raw', source: 'raw.c', kind: 'es6', embind: false, pthreads: false,
    flags: ['-Oz', ...MOD_ES6] },
];

let emccVersion = null;
function compilerVersion() {
  if (emccVersion === null) {
    try {
      emccVersion = execFileSync('emcc', ['--version'], { env: emEnv(), encoding: 'utf8' }).split('\n')[0];
    } catch {
      emccVersion = 'unknown';
    }
  }
  return emccVersion;
}

export function variantPaths(variant) {
  const hash = crypto.createHash('sha256');
  hash.update(fs.readFileSync(path.join(FIXTURES, variant.source)));
  if (variant.flags.some((f) => f.includes('pthread-hooks.js'))) hash.update(fs.readFileSync(HOOKS));
  hash.update(JSON.stringify(variant.flags.map((f) => f.replace(ROOT, '<root>'))));
  hash.update(compilerVersion());
  const dir = path.join(VARIANTS_DIR, `${variant.name}-${hash.digest('hex').slice(0, 12)}`);
  const ext = variant.kind === 'es6' ? '.mjs' : '.cjs';
  return {
    dir,
    stockDir: path.join(dir, 'stock'),
    patchedDir: path.join(dir, 'patched'),
    glueName: `calls${ext}`,
    stockGlue: path.join(dir, 'stock', `calls${ext}`),
    patchedGlue: path.join(dir, 'patched', `calls${ext}`),
  };
}

function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`))));
  });
}

async function buildOne(variant) {
  const paths = variantPaths(variant);
  const stamp = path.join(paths.stockDir, '.built');
  if (fs.existsSync(stamp)) return paths;
  fs.rmSync(paths.dir, { recursive: true, force: true });
  fs.mkdirSync(paths.stockDir, { recursive: true });
  // The stock files are CommonJS where they are .js (the pthread worker): our package is
  // "type": "module", and stock glue is loaded as it was built.
  fs.writeFileSync(path.join(paths.stockDir, 'package.json'), '{ "type": "commonjs" }\n');
  const compiler = variant.source.endsWith('.c') ? 'emcc' : 'em++';
  await run(compiler, [path.join(FIXTURES, variant.source), ...COMMON, ...variant.flags, '-o', paths.stockGlue],
    { env: emEnv(), cwd: paths.stockDir });
  fs.writeFileSync(stamp, new Date().toISOString());
  return paths;
}

// Builds every variant that is not cached yet, `jobs` at a time.
export async function buildVariants(variants = VARIANTS, jobs = 2) {
  const queue = [...variants];
  const results = new Map();
  const workers = Array.from({ length: jobs }, async () => {
    while (queue.length) {
      const variant = queue.shift();
      results.set(variant.name, await buildOne(variant));
    }
  });
  await Promise.all(workers);
  return results;
}

// A fresh patched copy (the patch itself is what is under test, so it is never cached).
export function freshPatchedDir(paths) {
  fs.rmSync(paths.patchedDir, { recursive: true, force: true });
  fs.mkdirSync(paths.patchedDir, { recursive: true });
  for (const file of fs.readdirSync(paths.stockDir)) {
    if (file === 'package.json' || file === '.built') continue;
    fs.copyFileSync(path.join(paths.stockDir, file), path.join(paths.patchedDir, file));
  }
  return paths.patchedDir;
}
