// Prewarmed pthread workers can be chosen at run time. PThread.initMainThread() has
//   var pthreadPoolSize = N;            (-sPTHREAD_POOL_SIZE=N)
// which becomes Module.pthreadPoolSize when the caller passes a number, else N: without
// the option the glue prewarms exactly what it was built with, on any thread, as stock
// glue does (a module whose export joins a std::thread relies on it). Passing
// { pthreadPoolSize: 0 } is the opt-in for a light instance. With 0 workers the stock
// receiveInstance() would wait forever for `--numWorkersToLoad` to reach 0, so the run
// dependency is released at once when there is nothing to load. From ~3.1.50 the wait is
// loadWasmModuleToAllWorkers() over Promise.all(PThread.unusedWorkers.map(...)), which
// settles at once for an empty pool: there only the size is replaced.
import { PatchError } from '../ast.js';

export const name = 'pthread-pool-size';

export function apply(ctx) {
  const { glue, s, text } = ctx;
  if (!glue.pthread) return { applied: false, detail: 'not a -pthread build' };
  const decl = glue.pthread.poolSize;
  if (!decl) return { applied: false, detail: 'built without -sPTHREAD_POOL_SIZE: no prewarmed workers, Module.pthreadPoolSize is ignored' };
  const waitsWithPromise = !glue.pthread.workersToLoad && glue.pthread.loaderUsesPromiseAll;
  if (!glue.pthread.workersToLoad && !waitsWithPromise) {
    throw new PatchError('cannot patch: the prewarmed-worker wait (var numWorkersToLoad = PThread.unusedWorkers.length ' +
      'with removeRunDependency, or loadWasmModuleToAllWorkers over Promise.all) was not found', { missing: 'numWorkersToLoad' });
  }
  const original = text.slice(decl.init.start, decl.init.end);
  s.overwrite(decl.init.start, decl.init.end,
    `typeof Module["pthreadPoolSize"] == "number" ? Module["pthreadPoolSize"] : (${original})`);
  const details = [`pthreadPoolSize = Module.pthreadPoolSize | ${original}`];
  const load = glue.pthread.workersToLoad;
  if (waitsWithPromise) {
    details.push('loadWasmModuleToAllWorkers waits with Promise.all, which settles for an empty pool');
  } else {
    const sep = /[;}]/.test(text[load.stmt.end - 1]) ? '' : ';';
    s.appendLeft(load.stmt.end, `${sep}if (!numWorkersToLoad) removeRunDependency(${load.dependency.raw});`);
    details.push('no wait when there are no workers to load');
  }
  return { applied: true, detail: details.join('; ') };
}
