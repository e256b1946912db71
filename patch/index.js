// wasm-threadpool-patch: rewrites Emscripten glue (the 3.1.6 shell and the moduleArg shell
// of later releases) so a ThreadPoolManager can route its exports to a pool host, and fixes
// the glue's Node problems. See docs/PATCH.md.
//
//   patchGlue({ input, out?, dryRun?, hooksPath? })  -> report (writes files)
//   patchGlueText(text, { moduleId, ... })          -> { code, map, marker, rewrites }
//   readPatchMarker(text)                            -> marker object or null
import fs from 'node:fs';
import path from 'node:path';
import MagicString from 'magic-string';
import { PatchError, parseGlue } from './ast.js';
import { locate } from './locate.js';
import { formatPatchMarker, moduleIdOf, readPatchMarker } from './marker.js';
import { writeFilesAtomic } from './write-atomic.js';
import { evaluableAsScript } from './as-script.js';
import { routingPrelude } from './rewrites/prelude.js';
import * as hooks from './rewrites/hooks.js';
import * as rawExports from './rewrites/raw-exports.js';
import * as embind from './rewrites/embind.js';
import * as ccall from './rewrites/ccall.js';
import * as esmShims from './rewrites/esm-shims.js';
import * as wasmLoading from './rewrites/wasm-loading.js';
import * as processHandlers from './rewrites/process-handlers.js';
import * as workerFile from './rewrites/worker-file.js';
import * as poolSize from './rewrites/pthread-pool-size.js';
import * as suppliedModule from './rewrites/supplied-module.js';

export { readPatchMarker, formatPatchMarker, moduleIdOf, PatchError };

// In application order. Each one edits the shared MagicString by AST positions.
export const REWRITES = [hooks, rawExports, embind, ccall, esmShims, wasmLoading, suppliedModule, processHandlers,
  workerFile, poolSize];

// Pure text transform. options: moduleId (or wasmBytes), inputDir (to check and copy
// the worker), hooksPath, sourceName/outputName (for the source map).
export function patchGlueText(text, options = {}) {
  const existing = readPatchMarker(text);
  if (existing) {
    return { changed: false, alreadyPatched: true, code: text, map: null, marker: existing, rewrites: [], files: [] };
  }
  const { ast, sourceType } = parseGlue(text);
  const glue = locate(ast, sourceType);
  const moduleId = options.moduleId || (options.wasmBytes ? moduleIdOf(options.wasmBytes) : null);
  if (!moduleId) throw new PatchError('cannot patch: no module id (the .wasm bytes were not given)', { missing: 'wasm bytes' });

  const s = new MagicString(text);
  const ctx = {
    s, text, glue, options, moduleId,
    inputDir: options.inputDir || null,
    preJs: [], prelude: [], top: [], files: [], exportNames: [], workerName: null,
  };
  const rewrites = [];
  for (const rewrite of REWRITES) {
    const result = rewrite.apply(ctx);
    rewrites.push({ name: rewrite.name, applied: !!result.applied, detail: result.detail });
  }

  const marker = {
    moduleId,
    wasm: glue.wasmName,
    worker: glue.pthread ? ctx.workerName : null,
    es6: glue.es6,
    pthreads: !!glue.pthread,
  };
  // Only -pthread glue says where its workers come from (older markers lack the key).
  if (glue.pthread) marker.workerIsGlue = !!ctx.workerIsGlue;
  const prelude = routingPrelude({ moduleId, exportNames: ctx.exportNames }) + ctx.prelude.join('');
  s.appendLeft(glue.preJsAnchor.start, ctx.preJs.join('') + prelude);
  rewrites.splice(1, 0, { name: 'routing-prelude', applied: true,
    detail: `Module.__wasmProxyModuleId = ${moduleId}; ${ctx.exportNames.length} static export name(s)` });
  s.prepend(ctx.top.join(''));
  // ES module glue the host may load without Node's ES module loader (as-script.js).
  if (glue.es6 && glue.pthread) marker.asScript = evaluableAsScript(s.toString());
  s.prepend(formatPatchMarker(marker) + '\n');

  const outputName = options.outputName || 'glue.js';
  const mapName = `${outputName}.map`;
  const map = s.generateMap({ source: options.sourceName || outputName, file: outputName, includeContent: true, hires: true });
  s.append(`\n//# sourceMappingURL=${mapName}\n`);
  return { changed: true, alreadyPatched: false, code: s.toString(), map: map.toString(), marker, rewrites, files: ctx.files };
}

function stripBom(text) {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// Patches the glue file `input` (in place, or into `out`). Refusals throw PatchError and
// write nothing. Every file is written atomically (temp file + rename).
export function patchGlue(options) {
  const input = path.resolve(typeof options === 'string' ? options : options.input);
  const opts = typeof options === 'string' ? {} : options;
  const output = path.resolve(opts.out || input);
  const inputDir = path.dirname(input);
  const outputDir = path.dirname(output);
  let text;
  try {
    text = stripBom(fs.readFileSync(input, 'utf8'));
  } catch (error) {
    throw new PatchError(`cannot read ${input}: ${error.message}`, { missing: 'the glue file', code: 'ENOENT' });
  }

  const existing = readPatchMarker(text);
  if (existing) {
    const report = { input, output, changed: false, alreadyPatched: true, marker: existing, rewrites: [], written: [], warnings: [] };
    const wasmPath = path.join(inputDir, existing.wasm);
    if (fs.existsSync(wasmPath) && moduleIdOf(fs.readFileSync(wasmPath)) !== existing.moduleId) {
      report.warnings.push(`${existing.wasm} changed since the glue was patched (marker moduleId ${existing.moduleId})`);
    }
    if (output !== input && !opts.dryRun) {
      writeFilesAtomic([{ path: output, data: text }]);
      report.written.push(output);
      report.changed = true;
    }
    return report;
  }

  // The .wasm name comes from the glue itself; its bytes give the module id.
  const { ast, sourceType } = parseGlue(text);
  const wasmName = locate(ast, sourceType).wasmName;
  const wasmPath = path.join(inputDir, wasmName);
  if (!fs.existsSync(wasmPath)) {
    throw new PatchError(`cannot patch: the .wasm file ${wasmName} named by the glue was not found (${wasmPath})`, { missing: wasmName });
  }
  const result = patchGlueText(text, {
    wasmBytes: fs.readFileSync(wasmPath),
    inputDir,
    hooksPath: opts.hooksPath,
    sourceName: path.basename(input),
    outputName: path.basename(output),
  });

  const entries = [];
  for (const file of result.files) {
    if (file.kind === 'worker') {
      const worker = workerFile.rewriteWorkerSource(fs.readFileSync(file.from, 'utf8'),
        { glueFrom: path.basename(input), glueTo: path.basename(output) });
      entries.push({ path: path.join(outputDir, file.name), data: worker.code });
    }
  }
  if (outputDir !== inputDir) {
    entries.push({ path: path.join(outputDir, wasmName), data: fs.readFileSync(wasmPath) });
  }
  entries.push({ path: `${output}.map`, data: result.map });
  entries.push({ path: output, data: result.code });
  const report = {
    input, output, changed: true, alreadyPatched: false, marker: result.marker, rewrites: result.rewrites,
    written: entries.map((e) => e.path), removed: [], warnings: [],
  };
  if (opts.dryRun) {
    report.written = [];
    report.dryRun = true;
    return report;
  }
  writeFilesAtomic(entries);
  // In place, the CommonJS worker replaces the .worker.js (nothing refers to it any more);
  // an ES module worker (.worker.mjs) was rewritten under its own name and stays.
  if (output === input) {
    for (const file of result.files) {
      if (file.kind === 'worker' && path.join(outputDir, file.name) !== file.from && fs.existsSync(file.from)) {
        fs.rmSync(file.from);
        report.removed.push(file.from);
      }
    }
  }
  return report;
}
