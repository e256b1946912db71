// Child process: solves a small integer problem with z3-solver's own high-level API from
// the package root given, and prints `@@RESULT@@{json}`.
//   node z3.cjs <package root> <routing: 0|1>
// Solver.check() runs Z3_solver_check on a pthread: this glue (Emscripten ~3.1.6x) is its
// own worker script, so the check exercises `new Worker(<the glue>, { workerData:
// "em-pthread" })` loading the (patched) glue file itself.
const path = require('node:path');

const [root, routing] = process.argv.slice(2);

// Records the script of every worker the glue starts (it reads worker_threads.Worker when
// the module is created).
const workerThreads = require('node:worker_threads');
const workers = [];
const NodeWorker = workerThreads.Worker;
workerThreads.Worker = class extends NodeWorker {
  constructor(script, options) {
    workers.push({ script: path.relative(root, String(script)), workerData: options && options.workerData });
    super(script, options);
  }
};

(async () => {
  const { init } = require(root);
  const { Z3, Context } = await init();
  const results = { version: Z3.get_full_version() };
  const { Solver, Int } = new Context('main');
  const x = Int.const('x');
  const y = Int.const('y');
  const solver = new Solver();
  solver.add(x.gt(2), x.lt(10), y.eq(x.mul(3)), y.gt(20), x.neq(8));
  results.check = await solver.check();
  const model = solver.model();
  results.model = { x: model.eval(x).toString(), y: model.eval(y).toString() };
  solver.add(y.lt(21));
  results.unsat = await solver.check();
  results.workers = workers.slice();

  if (routing === '1') {
    // The raw Emscripten module the package wraps: its exports go through the router.
    const em = await require(path.join(root, 'build/z3-built.js'))();
    const calls = [];
    const id = em.__wasmProxyModuleId;
    globalThis.__wasmProxy = {
      claims: (moduleId) => moduleId === id,
      call: (moduleId, name, args) => { calls.push([moduleId, name, args]); return `routed:${name}`; },
    };
    results.routing = { id, routable: em.__wasmProxyExports.length, routed: em._Z3_mk_config(), calls };
    globalThis.__wasmProxy = undefined;
    results.routing.local = typeof em._Z3_mk_config();
  }
  process.stdout.write(`@@RESULT@@${JSON.stringify(results)}\n`);
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(3);
});
