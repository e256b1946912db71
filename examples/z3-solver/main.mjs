// z3-solver, an npm package built with a current Emscripten (its glue is its own pthread
// worker), solved through a ThreadPoolManager; then a fault in it becomes a WasmPanicError
// while this process lives on. Run: node examples/z3-solver/main.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ThreadPoolManager, WasmPanicError } from 'wasm-threadpool';
import { patchGlue } from 'wasm-threadpool/patch';

// 1. Patch a copy of the package's glue (never node_modules itself). Its glue is
//    CommonJS: keep it in a folder Node treats as CommonJS.
const require = createRequire(import.meta.url);
const z3Build = path.dirname(require.resolve('z3-solver/build/z3-built.js'));
const vendor = fs.mkdtempSync(path.join(os.tmpdir(), 'z3-vendor-'));
fs.writeFileSync(path.join(vendor, 'package.json'), '{ "type": "commonjs" }\n');
for (const file of ['z3-built.js', 'z3-built.wasm']) fs.copyFileSync(path.join(z3Build, file), path.join(vendor, file));
patchGlue({ input: path.join(vendor, 'z3-built.js') });

// 2. Host it and run the solver inside the host.
const manager = new ThreadPoolManager({ module: path.join(vendor, 'z3-built.js'), threads: 2, log: false });
const job = new URL('./solve-job.mjs', import.meta.url);
try {
  const solved = await manager.run(job, { min: 40, max: 42 }, { timeoutMs: 60_000 });
  console.log(`solve 40 < x < 42: ${solved.answer}, x = ${solved.x}`);

  // 3. A fault in the module: a rejected promise with the details, not a dead process.
  const error = await manager.run(job, { fault: true }).catch((e) => e);
  console.log(`fault: ${error instanceof WasmPanicError ? 'WasmPanicError' : error}, kind ${error.kind}: ${error.panicMessage}`);

  // 4. The next job runs on a fresh host.
  const again = await manager.run(job, { min: 0, max: 2 });
  console.log(`solve 0 < x < 2 on a fresh host: ${again.answer}, x = ${again.x}`);
} finally {
  await manager.shutdown();
  fs.rmSync(vendor, { recursive: true, force: true });
}
