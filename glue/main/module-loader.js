// Finds, checks and compiles the pool's wasm module, once per manager. The manager runs
// no code of the module: it only needs the compiled WebAssembly.Module (cloned to each
// host for free) and the limits of the shared memory the module imports.
//
// Three kinds of manager come out of it:
//   - no `module`: a host for run() jobs, which load their own packages;
//   - glue without the patch (a package's own, Closure-compiled included): the host
//     instantiates it as its users would, for run() jobs (ctx.module); execute() cannot
//     route calls into it, since only the patch makes exports consult the router;
//   - patched glue: everything, execute() included.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { moduleIdOf, readPatchMarker } from '../../patch/marker.js';
import { WasmHostStartError } from './errors.js';
import { readMemoryImport } from './wasm-memory-import.js';

function toFileUrl(location, what) {
  if (location instanceof URL) return location;
  if (typeof location === 'string') {
    return /^file:/.test(location) ? new URL(location) : pathToFileURL(location);
  }
  throw new TypeError(`${what} must be a file path or a file: URL, got ${typeof location}`);
}

async function readOrExplain(url, what, hint) {
  try {
    return await readFile(url);
  } catch (error) {
    throw new WasmHostStartError(`cannot read ${what} ${fileURLToPath(url)}: ${error.code ?? error.message}. ${hint}`, error);
  }
}

// Whether Node loads this file as an ES module: .mjs, or .js under a package.json with
// "type": "module" (the nearest one decides).
async function loadsAsEsModule(file) {
  if (file.endsWith('.mjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      return JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')).type === 'module';
    } catch (error) {
      if (error.code !== 'ENOENT') return false;
    }
    if (path.dirname(dir) === dir) return false;
  }
}

/**
 * @typedef {object} LoadedModule
 * @property {string | null} glueUrl null: a host for jobs only
 * @property {boolean} patched whether execute() can route calls into it
 * @property {string | null} wasmUrl the .wasm an unpatched glue is given, when known
 * @property {WebAssembly.Module | null} module compiled once (patched glue only)
 * @property {{initial:number, maximum?:number} | null} memoryLimits (patched glue only)
 * @property {string | null} moduleId (patched glue only)
 * @property {boolean} [workerIsGlue] the patched glue is its own pthread worker script (patch marker)
 * @property {{ es6: boolean, asScript: boolean }} [glueForm] how the host loads the patched glue
 *   (host/glue-loader.cjs), from the patch marker; absent for other glue (imported as it is)
 */

/**
 * @param {string | URL | undefined} module the Emscripten glue (.mjs, or CommonJS .js/.cjs), patched or not
 * @param {string | URL} [wasm] the .wasm file, when it is not where the glue says
 * @returns {Promise<LoadedModule>}
 */
export async function loadModule(module, wasm) {
  if (module === undefined) {
    return { glueUrl: null, patched: false, wasmUrl: null, module: null, memoryLimits: null, moduleId: null };
  }
  const glueUrl = toFileUrl(module, 'options.module');
  const glue = await readOrExplain(glueUrl, 'the module glue', 'Build it first (npm run build).');
  const marker = readPatchMarker(glue.toString('utf8'));
  if (!marker) return loadUnpatched(glueUrl, wasm);
  if (!marker.pthreads) {
    throw new WasmHostStartError(`${fileURLToPath(glueUrl)} was built without -pthread: the pool needs it`);
  }
  // CommonJS glue (no -sEXPORT_ES6) that Node would load as an ES module has neither a
  // factory to import nor `require`; its pthread workers, when it is its own worker
  // script, would fail the same way.
  if (marker.es6 === false && await loadsAsEsModule(fileURLToPath(glueUrl))) {
    throw new WasmHostStartError(
      `${fileURLToPath(glueUrl)} is CommonJS glue (built without -sEXPORT_ES6) but Node loads it as an ES module ` +
        '(the nearest package.json has "type": "module"): name it .cjs (patch it with --out x.cjs) or build it with -sEXPORT_ES6=1',
    );
  }
  const wasmUrl = wasm === undefined ? new URL(marker.wasm, glueUrl) : toFileUrl(wasm, 'options.wasm');
  const bytes = await readOrExplain(wasmUrl, 'the wasm binary', 'It is built next to the glue.');
  const moduleId = moduleIdOf(bytes);
  if (moduleId !== marker.moduleId) {
    throw new WasmHostStartError(
      `${fileURLToPath(wasmUrl)} is not the binary the glue was patched for (hash ${moduleId}, ` +
        `glue expects ${marker.moduleId}): re-run the patch after every link`,
    );
  }
  const memoryLimits = readMemoryImport(bytes);
  if (!memoryLimits || !memoryLimits.shared) {
    throw new WasmHostStartError(`${fileURLToPath(wasmUrl)} does not import a shared memory: link it with -pthread`);
  }
  const compiled = await WebAssembly.compile(bytes);
  return { glueUrl: glueUrl.href, patched: true, wasmUrl: wasmUrl.href, module: compiled, memoryLimits, moduleId,
    workerIsGlue: marker.workerIsGlue === true, glueForm: { es6: marker.es6 !== false, asScript: marker.asScript === true } };
}

// Glue the host instantiates as it is. Its .wasm is handed to it when known (options.wasm,
// or <name>.wasm next to it): 3.1.x glue would otherwise fetch() it, which fails on Node.
async function loadUnpatched(glueUrl, wasm) {
  let wasmUrl = null;
  if (wasm !== undefined) {
    wasmUrl = toFileUrl(wasm, 'options.wasm');
    await readOrExplain(wasmUrl, 'the wasm binary', 'Check options.wasm.');
  } else {
    const beside = new URL(`${path.basename(fileURLToPath(glueUrl)).replace(/\.(c|m)?js$/, '')}.wasm`, glueUrl);
    if (await access(beside).then(() => true, () => false)) wasmUrl = beside;
  }
  return { glueUrl: glueUrl.href, patched: false, wasmUrl: wasmUrl?.href ?? null, module: null, memoryLimits: null,
    moduleId: null };
}
