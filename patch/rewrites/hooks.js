// Injects glue/pthread-hooks.js at the pre-js position of -pthread glue built without it,
// so every pthread worker (which runs this same glue) carries the crash/log hooks.
import fs from 'node:fs';

export const name = 'pthread-hooks';

export const DEFAULT_HOOKS_PATH = new URL('../../glue/pthread-hooks.js', import.meta.url);

export function apply(ctx) {
  const { glue } = ctx;
  if (!glue.pthread) return { applied: false, detail: 'not a -pthread build' };
  if (glue.hooksPresent) return { applied: false, detail: 'already present (--pre-js)' };
  const source = fs.readFileSync(ctx.options.hooksPath || DEFAULT_HOOKS_PATH, 'utf8');
  ctx.preJs.push('// wasm-threadpool-patch: glue/pthread-hooks.js, injected at the pre-js position\n' +
    source.replace(/\s*$/, '\n'));
  // The hooks key on 3.1.x PThread internals; where recent glue differs they stay inert
  // (docs/PATCH.md, "Pthread hooks on recent glue").
  const differences = [];
  if (glue.pthread.workerIsGlue) differences.push('the glue is its own worker (no Module.ENVIRONMENT_IS_PTHREAD; self.onmessage is set after the pre-js)');
  if (glue.pthread.loadsWorkerWithPromise) differences.push('loadWasmModuleToWorker(worker) returns a promise and takes no callback');
  return { applied: true, detail: 'injected at the pre-js position' + (differences.length ? `; inert here: ${differences.join('; ')}` : '') };
}
