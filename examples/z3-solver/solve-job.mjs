// Runs inside the pool's host (manager.run()): z3-solver's own JS API, which calls the
// module's exports synchronously and chains the pointers they return, drives the host's
// instance of the patched glue. Only the input and the result cross to the main thread.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export default async function solve({ min, max, fault }, { module }) {
  if (fault) {
    // A bug in the caller's use of the C API: a solver address past the end of memory.
    // The load traps on this thread; the host reports it and is replaced.
    const context = module._Z3_mk_context(module._Z3_mk_config());
    return module._Z3_solver_check(context, 0xffffff00);
  }
  const { init } = require('z3-solver/build/low-level');
  const { createApi } = require('z3-solver/build/high-level');
  const { Z3, em } = await init(async () => module); // the package's init(), on the host's instance
  const { Context } = createApi(Z3, em);
  const { Solver, Int } = new Context('main');
  const x = Int.const('x');
  const solver = new Solver();
  solver.add(x.gt(min), x.lt(max));
  const answer = await solver.check(); // runs on a pthread of the host
  return { answer, x: answer === 'sat' ? solver.model().eval(x).toString() : null };
}
