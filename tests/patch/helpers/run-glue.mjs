// Child process: loads one glue file (stock or patched), runs a fixed script of calls
// and prints one result line `@@RESULT@@{json}` after whatever the module printed.
//   node run-glue.mjs <glue> <kind: es6|cjs|plain> <stock|patched|script> <behaviour|routing> <features json>
// script: patched ES module glue loaded as the host loads it when its marker allows
// (glue/host/glue-loader.cjs: evaluated as a function body, not imported).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { loadGlueFactory } from '../../../glue/host/glue-loader.cjs';

const [gluePath, kind, mode, scenario, featuresJson] = process.argv.slice(2);
const features = JSON.parse(featuresJson || '{}');
const dir = path.dirname(gluePath);
const wasmPath = path.join(dir, features.wasm);

async function load(extra = {}) {
  const options = { ...extra };
  if (mode === 'stock') {
    // Stock 3.1.6 glue cannot find its .wasm on Node 18+ (fetch) nor, as an ES module,
    // `require`/`__dirname`: give it the bytes and the CommonJS globals.
    options.wasmBinary = fs.readFileSync(wasmPath);
    if (kind === 'es6') {
      globalThis.require = createRequire(gluePath);
      globalThis.__dirname = dir;
      globalThis.__filename = gluePath;
    }
  } else if (features.threads) {
    options.pthreadPoolSize = 2;
  }
  if (kind === 'es6' && mode === 'script') {
    const { factory, loadedAs } = await loadGlueFactory(pathToFileURL(gluePath).href, { es6: true, asScript: true });
    if (loadedAs !== 'script') throw new Error(`the glue was loaded by ${loadedAs}, not as a script`);
    return factory(options);
  }
  if (kind === 'es6') {
    const factory = (await import(pathToFileURL(gluePath).href)).default;
    return factory(options);
  }
  const require = createRequire(import.meta.url);
  if (kind === 'cjs') return require(gluePath)(options);
  // Non-MODULARIZE glue as a CommonJS module takes no options (its `var Module` shadows
  // any global), so stock glue is kept off fetch() instead of being given the bytes.
  if (mode === 'stock') globalThis.fetch = undefined;
  const M = require(gluePath);
  if (M.calledRun) return M;
  return new Promise((resolve) => { M.onRuntimeInitialized = () => resolve(M); });
}

function outcome(fn) {
  try {
    const value = fn();
    return { ok: true, value };
  } catch (error) {
    if (typeof error === 'number') return { ok: false, type: 'number', value: error };
    return { ok: false, type: error && error.name, message: String(error && error.message) };
  }
}

function behaviour(M) {
  const results = {};
  results.rawAdd = outcome(() => M._rawAdd(2, 3));
  results.rawHello = outcome(() => M._rawHello(7));
  results.ccall = outcome(() => M.ccall('rawAdd', 'number', ['number', 'number'], [20, 22]));
  if (features.embind) {
    results.add = outcome(() => M.add(2, 3));
    results.greet = outcome(() => M.greet('bob'));
    results.scale1 = outcome(() => M.scale(3));
    results.scale2 = outcome(() => M.scale(3, 4));
    results.scaleBad = outcome(() => M.scale(1, 2, 3));
    results.addBad = outcome(() => M.add(1));
    results.hello = outcome(() => M.hello(5));
    results.mayThrowOk = outcome(() => M.mayThrow(4));
    results.mayThrow = outcome(() => M.mayThrow(-1));
    results.addThis = outcome(() => M.add.call({ other: true }, 5, 6));
  }
  if (features.threads) results.threadSum = outcome(() => M.threadSum(1000));
  results.listeners = {
    uncaughtException: process.listenerCount('uncaughtException'),
    unhandledRejection: process.listenerCount('unhandledRejection'),
  };
  return results;
}

async function routing(M) {
  const calls = [];
  const id = M.__wasmProxyModuleId;
  let claim = true;
  globalThis.__wasmProxy = {
    claims: (moduleId) => claim && moduleId === id,
    call: (moduleId, name, args) => {
      calls.push([moduleId, name, args]);
      return `routed:${name}`;
    },
  };
  const results = { id, exports: [...M.__wasmProxyExports] };
  results.rawAdd = M._rawAdd(1, 2);
  results.rawHello = M._rawHello(3);
  if (features.embind) {
    results.add = M.add(2, 3);
    results.greet = M.greet('x');
    results.scale = M.scale(2, 3);
    // The stock function behind the router: its internal _malloc/_free are not routed.
    results.greetStock = M.greet.__wasmpoolStock('y');
    results.scaleOverloads = M.scale.overloadTable ? Object.keys(M.scale.overloadTable) : null;
  }
  results.ccall = M.ccall('rawAdd', 'number', ['number', 'number'], [40, 2]);
  // The allocator is routed: user code allocates in the heap of the instance that runs.
  results.allocators = ['_malloc', '_free', '_calloc', '_realloc', '_memalign'].filter((n) => typeof M[n] === 'function');
  results.malloc = typeof M._malloc === 'function' ? M._malloc(8) : 'absent';
  results.asmDirect = typeof M.asm === 'object';
  claim = false;
  results.rawAddUnclaimed = M._rawAdd(1, 2);
  if (features.embind) results.addUnclaimed = M.add(2, 3);
  globalThis.__wasmProxy = { claims: () => false, call: () => { throw new Error('must not be called'); } };
  results.rawAddOtherProxy = M._rawAdd(5, 5);
  results.calls = calls;
  // Module.wasmModule: instantiated from the supplied module, the .wasm file is not read.
  if (kind !== 'plain') {
    const wasmModule = new WebAssembly.Module(fs.readFileSync(wasmPath));
    const second = await load({ wasmModule, locateFile: (file, dir) => (file.endsWith(".wasm") ? `/nonexistent/${file}` : dir + file) });
    results.supplied = second._rawAdd(20, 3);
  }
  return results;
}

// Non-MODULARIZE glue cannot be given pthreadPoolSize, and patched glue prewarms no
// worker on Node's main thread: builds with threads run on a worker thread, where the
// build's PTHREAD_POOL_SIZE applies.
if (isMainThread && kind === 'plain' && features.threads) {
  const worker = new Worker(new URL(import.meta.url), { argv: process.argv.slice(2) });
  worker.once('message', (results) => {
    process.stdout.write(`@@RESULT@@${JSON.stringify(results)}\n`);
    process.exit(0);
  });
  worker.once('error', (error) => { console.error(error); process.exit(3); });
} else {
  const M = await load();
  const results = scenario === 'routing' ? await routing(M) : behaviour(M);
  if (isMainThread) {
    process.stdout.write(`@@RESULT@@${JSON.stringify(results)}\n`);
    process.exit(0);
  } else {
    parentPort.postMessage(results);
  }
}
