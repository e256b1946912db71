// Module.wasmModule: a compiled WebAssembly.Module supplied by the caller. createWasm()
// already honours Module.instantiateWasm; just before it checks for one, the patch
// installs an instantiateWasm that instantiates the supplied module (synchronously) when
// the caller gave wasmModule and no instantiateWasm. Pthread workers are left alone: their
// worker.js sets Module.wasmModule and its own instantiateWasm, and a glue that is its own
// worker (3.1.58+) starts pthreads with a fresh Module and receives the compiled module by
// message. Module.wasmMemory (a shared memory) is honoured by stock -pthread glue on the
// main runtime thread (3.1.6 and the moduleArg generation alike).
import { PatchError } from '../ast.js';
import { CLOSURE_HINT } from '../locate.js';

export const name = 'supplied-wasm-module';

const CODE = 'if (!Module["instantiateWasm"] && !Module["ENVIRONMENT_IS_PTHREAD"] && typeof WebAssembly == "object" && ' +
  'Module["wasmModule"] instanceof WebAssembly.Module) {\n' +
  '  // wasm-threadpool-patch: instantiate the supplied Module.wasmModule instead of reading the .wasm\n' +
  '  Module["instantiateWasm"] = function (imports, receiveInstance) {\n' +
  '    var suppliedModule = Module["wasmModule"];\n' +
  '    var instance = new WebAssembly.Instance(suppliedModule, imports);\n' +
  '    receiveInstance(instance, suppliedModule);\n' +
  '    return instance.exports;\n' +
  '  };\n' +
  '}\n';

export function apply(ctx) {
  const hook = ctx.glue.instantiateHook;
  if (!hook) {
    throw new PatchError('cannot patch: the Module.instantiateWasm check in createWasm() was not found' +
      (ctx.glue.closure ? ` (${CLOSURE_HINT})` : ''), { missing: 'createWasm Module["instantiateWasm"]' });
  }
  ctx.s.appendLeft(hook.start, CODE);
  return { applied: true, detail: 'Module.wasmModule is instantiated when given' };
}
