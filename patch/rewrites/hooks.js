// Injects glue/pthread/pthread-hooks.js at the pre-js position of -pthread glue built without it,
// so every pthread worker (which runs this same glue) carries the crash/log hooks.
import fs from 'node:fs';

export const name = 'pthread-hooks';

export const DEFAULT_HOOKS_PATH = new URL('../../glue/pthread/pthread-hooks.js', import.meta.url);

export function apply(ctx) {
  const { glue } = ctx;
  if (!glue.pthread) return { applied: false, detail: 'not a -pthread build' };
  if (glue.hooksPresent) return { applied: false, detail: 'already present (--pre-js)' };
  const source = fs.readFileSync(ctx.options.hooksPath || DEFAULT_HOOKS_PATH, 'utf8');
  ctx.preJs.push('// wasm-threadpool-patch: glue/pthread/pthread-hooks.js, injected at the pre-js position\n' +
    source.replace(/\s*$/, '\n'));
  // The hooks know the PThread of 3.1.x and of the moduleArg generations; the report says
  // which shape they will meet (docs/PATCH.md, "Pthread hooks on recent glue").
  const shapes = [];
  if (glue.pthread.workerIsGlue) shapes.push('the glue is its own worker (its handler is wrapped when assigned)');
  if (glue.pthread.loadsWorkerWithPromise) shapes.push('loadWasmModuleToWorker returns a promise (ports follow it)');
  return { applied: true, detail: 'injected at the pre-js position' + (shapes.length ? `; recent glue: ${shapes.join('; ')}` : '') };
}
