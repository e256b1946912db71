// Hosting an Emscripten module this project did not build: z3-solver 5.2.0's glue
// (Emscripten ~3.1.59..4.0.6, CommonJS, the glue is its own pthread worker), patched in a
// temp dir, hosted by a ThreadPoolManager. It has none of the wasmpool runtime (no
// initThreadPool, crash record or progress counter): only the pthread hooks the patch
// injects. Its raw C exports (_Z3_*) are called through execute() from a main-thread
// instance of the same patched glue.
//
// A real fault in a pthread of the module: z3's async_Z3_solver_check(ctx, solver) starts a
// detached std::thread that runs Z3_solver_check; given a solver address past the end of
// the 2 GiB memory, that thread's first load traps (memory access out of bounds).
// A long call: the pigeonhole problem (13 pigeons, 12 holes) takes z3 minutes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  ThreadPoolManager, WasmPanicError, WasmHangError, WasmCallError, WasmHostStartError,
} from '../../glue/index.js';
import { patchGlue } from '../../patch/index.js';
import { notInstalled, copyPackageFiles, NODE_MODULES } from '../patch/helpers/npm-package.js';
import { holdingLoop, osThreadCount, waitForThreadCount } from './helpers.js';

const require = createRequire(import.meta.url);
const skip = notInstalled('z3-solver', '5.2.0');

// Past the end of the module's memory (2 GiB, fixed): any load from it traps.
const OUT_OF_MEMORY_ADDRESS = 0xffffff00;

let work;
let glue;
let em; // the patched glue's instance on this thread: its exports route into execute()'s host
let marker;

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-generic-hosting-'));
  // CommonJS glue: keep it CommonJS wherever the temp dir is.
  fs.writeFileSync(path.join(work, 'package.json'), '{ "type": "commonjs" }\n');
  [glue] = copyPackageFiles('z3-solver', ['build/z3-built.js', 'build/z3-built.wasm'], work);
  marker = patchGlue({ input: glue }).marker;
  em = await require(glue)();
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function newManager(t, options = {}) {
  const logs = [];
  const manager = new ThreadPoolManager({ module: glue, threads: 2, log: (entry) => logs.push(entry), ...options });
  t.after(() => manager.shutdown());
  return { manager, logs };
}

function cString(manager, address) {
  const bytes = manager.view(Uint8Array, address, 1 << 16);
  return Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString('utf8');
}

// Inside execute(): every em._x() call below runs in the host and returns a Promise.
async function newContext() {
  const config = await em._Z3_mk_config();
  const context = await em._Z3_mk_context(config);
  await em._Z3_del_config(config);
  await em._set_noop_error_handler(context);
  return context;
}

async function evalSmtlib(manager, context, text) {
  const bytes = Buffer.from(`${text}\0`, 'utf8');
  const address = await em._malloc(bytes.length);
  manager.view(Uint8Array, address, bytes.length).set(bytes);
  const answer = cString(manager, await em._Z3_eval_smtlib2_string(context, address));
  await em._free(address);
  return answer;
}

async function version(manager) {
  return cString(manager, await em._Z3_get_full_version());
}

function pigeonhole(holes) {
  const pigeons = holes + 1;
  const p = (i, j) => `p${i}_${j}`;
  let text = '';
  for (let i = 0; i < pigeons; i++) for (let j = 0; j < holes; j++) text += `(declare-const ${p(i, j)} Bool)`;
  for (let i = 0; i < pigeons; i++) text += `(assert (or ${Array.from({ length: holes }, (_, j) => p(i, j)).join(' ')}))`;
  for (let j = 0; j < holes; j++) {
    for (let i = 0; i < pigeons; i++) for (let k = i + 1; k < pigeons; k++) text += `(assert (not (and ${p(i, j)} ${p(k, j)})))`;
  }
  return `${text}(check-sat)`;
}

test('z3-solver glue, patched: marker and hooks for glue that is its own pthread worker', { skip }, () => {
  assert.equal(marker.workerIsGlue, true);
  assert.equal(marker.es6, false);
  const text = fs.readFileSync(glue, 'utf8');
  assert.match(text, /var __wasmpoolHooks = /);
  assert.equal(typeof em.__wasmpoolStart, 'undefined', 'inert on a thread no host configured');
  assert.equal(typeof em.initThreadPool, 'undefined', 'no wasmpool runtime in this module');
});

test('CommonJS glue that Node would load as an ES module is refused before anything starts, with the fix', {
  skip,
}, async (t) => {
  const dir = path.join(work, 'esm-package');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  fs.copyFileSync(glue, path.join(dir, 'z3-built.js'));
  const { manager } = newManager(t, { module: path.join(dir, 'z3-built.js') });
  await assert.rejects(manager.start(), (error) => {
    assert.ok(error instanceof WasmHostStartError, String(error?.stack ?? error));
    assert.match(error.message, /CommonJS glue .* Node loads it as an ES module/);
    assert.match(error.message, /name it \.cjs/);
    return true;
  });
});

test('z3-solver is hosted without the wasmpool runtime: raw exports run in the host', { skip, timeout: 60000 }, async (t) => {
  const { manager } = newManager(t);
  const local = em.UTF8ToString(em._Z3_get_full_version()); // outside execute(): runs here
  const result = await manager.execute(async () => {
    const context = await newContext();
    return {
      version: await version(manager),
      sat: await evalSmtlib(manager, context, '(declare-const x Int)(assert (and (> x 2) (< x 4)))(check-sat)(get-value (x))'),
      unsat: await evalSmtlib(manager, context, '(assert (> x 3))(check-sat)'),
    };
  });
  assert.deepEqual(result, { version: local, sat: 'sat\n((x 3))\n', unsat: 'unsat\n' });
  assert.match(local, /^Z3 \d+\.\d+\.\d+/);
  assert.equal(manager.stats().starts, 1);
  assert.equal(manager.stats().crashes, 0);
});

// A job (run()) is an ES module run inside the host: there z3-solver's own JS API drives the
// host's instance synchronously, and its solver.check() runs on a pthread of the host.
const Z3_API_JOB = `
import { createRequire } from 'node:module';
export default async function ({ packageRoot, min, max }, { module }) {
  const require = createRequire(packageRoot + '/');
  const { init } = require('./build/low-level');
  const { createApi } = require('./build/high-level');
  const { Z3, em } = await init(async () => module);
  const { Context } = createApi(Z3, em);
  const { Solver, Int } = new Context('main');
  const x = Int.const('x');
  const solver = new Solver();
  solver.add(x.gt(min), x.lt(max));
  const answer = await solver.check();
  return { answer, x: answer === 'sat' ? solver.model().eval(x).toString() : null, version: Z3.get_full_version() };
}
`;

test('z3-solver\'s own API runs inside the host through run(); its check runs on a pthread there', {
  skip, timeout: 60000,
}, async (t) => {
  const { manager } = newManager(t);
  const jobFile = path.join(work, 'z3-api-job.mjs');
  fs.writeFileSync(jobFile, Z3_API_JOB);
  const input = { packageRoot: path.join(NODE_MODULES, 'z3-solver'), min: 40, max: 42 };
  const result = await manager.run(jobFile, input, { timeoutMs: 30000 });
  assert.deepEqual(result, { answer: 'sat', x: '41', version: em.UTF8ToString(em._Z3_get_full_version()) });
  assert.equal((await manager.run(jobFile, { ...input, max: 41 })).answer, 'unsat');
  assert.equal(manager.stats().crashes, 0);
});

test('a trap in a pthread of z3 rejects the pending call with its kind, pthread, message and wasm stack; ' +
  'its output reaches the log sink; the next execute() runs on a fresh host', { skip, timeout: 60000 }, async (t) => {
  const { manager, logs } = newManager(t);
  const error = await manager.execute(async () => {
    const context = await newContext();
    // Returns at once; its thread traps while the host is busy with the long call below.
    await em._async_Z3_solver_check(context, OUT_OF_MEMORY_ADDRESS);
    return evalSmtlib(manager, context, pigeonhole(12)).then(
      (answer) => assert.fail(`the long call finished first: ${answer}`),
      (e) => e,
    );
  }, { hangTimeoutMs: Infinity, timeoutMs: 30000 });
  assert.ok(error instanceof WasmPanicError, String(error?.stack ?? error));
  assert.equal(error.kind, 'oob');
  assert.equal(error.thread, -1, 'not a pool thread');
  assert.ok(error.pthread > 0, 'the faulting pthread is named');
  assert.equal(error.source, 'port', 'reported by the thread itself, through the pthread hooks');
  assert.match(error.panicMessage, /memory access out of bounds/);
  assert.match(error.message, new RegExp(`thread 0x${error.pthread.toString(16)} \\(a pthread of the module`));
  assert.match(error.wasmStack, /init_solver/);
  assert.match(error.wasmStack, /Z3_solver_check/);
  // What the dying thread printed (Emscripten's report of the uncaught exception).
  const printed = logs.filter((entry) => entry.pthread === error.pthread && entry.level === 'stderr');
  assert.ok(printed.some((entry) => /memory access out of bounds/.test(entry.message)), JSON.stringify(logs));

  assert.equal(manager.stats().crashes, 1);
  const again = await manager.execute(async () => evalSmtlib(manager, await newContext(), '(check-sat)'));
  assert.equal(again, 'sat\n');
  assert.equal(manager.stats().starts, 2);
});

test('a fault in a detached pthread of z3 while no call is pending is a crash event', { skip, timeout: 60000 }, async (t) => {
  const { manager } = newManager(t);
  const crashed = once(manager, 'crash');
  // The thread faults at once: usually after the call returned, but the host may still be
  // in it (the thread's worker is prewarmed, so it can start first), and then the call is
  // the one that fails, with the same error.
  const call = manager.execute(async () => em._async_Z3_solver_check(await newContext(), OUT_OF_MEMORY_ADDRESS))
    .then(() => null, (e) => e);
  const [error] = await holdingLoop(crashed);
  const callError = await call;
  if (callError) {
    assert.ok(callError instanceof WasmPanicError, String(callError?.stack ?? callError));
    assert.equal(callError.pthread, error.pthread);
  }
  assert.ok(error instanceof WasmPanicError);
  assert.equal(error.kind, 'oob');
  assert.ok(error.pthread > 0);
  assert.equal(error.source, 'port');
  assert.match(await manager.execute(() => version(manager)), /^Z3 /);
});

test('a z3 call that runs too long is a hang under the execute\'s hangTimeoutMs (no progress counter here)', {
  skip, timeout: 60000,
}, async (t) => {
  const { manager } = newManager(t);
  const problem = pigeonhole(12);
  const started = performance.now();
  await assert.rejects(
    manager.execute(async () => evalSmtlib(manager, await newContext(), problem), { hangTimeoutMs: 300 }),
    (error) => {
      assert.ok(error instanceof WasmHangError, String(error?.stack ?? error));
      assert.equal(error.timeoutMs, 300);
      assert.equal(error.during, 'call');
      return true;
    },
  );
  assert.ok(performance.now() - started < 10000);
  assert.equal(manager.stats().hangs, 1);
  assert.match(await manager.execute(() => version(manager)), /^Z3 /);
});

test('a pthread past threads + maxExtraThreads is refused at once (EAGAIN) and the call says why', {
  skip, timeout: 60000,
}, async (t) => {
  const baseline = osThreadCount();
  const { manager, logs } = newManager(t, { threads: 1, maxExtraThreads: 0 });
  const error = await manager.execute(async () => {
    const context = await newContext();
    const solver = await em._Z3_mk_solver(context);
    await em._Z3_solver_inc_ref(context, solver);
    const bytes = Buffer.from(`${pigeonhole(12).replace('(check-sat)', '')}\0`);
    const address = await em._malloc(bytes.length);
    manager.view(Uint8Array, address, bytes.length).set(bytes);
    await em._Z3_solver_from_string(context, solver, address);
    await em._async_Z3_solver_check(context, solver); // the one thread allowed: busy for minutes
    return em._async_Z3_solver_check(context, solver).then(() => assert.fail('a second thread started'), (e) => e);
  }, { timeoutMs: 30000 });
  assert.ok(error instanceof WasmCallError, String(error?.stack ?? error));
  assert.equal(error.code, 'ERR_WASM_THREAD_LIMIT');
  assert.match(error.message, /limit is 1/);
  assert.ok(logs.some((entry) => entry.level === 'warn' && /refused to start a thread/.test(entry.message)));
  // The thread still solving dies with the host.
  await manager.shutdown();
  assert.equal(await waitForThreadCount(baseline, 5000), baseline);
});

test('the idle stop and shutdown() leave no thread of the z3 host behind', { skip, timeout: 60000 }, async (t) => {
  const baseline = osThreadCount();
  const { manager } = newManager(t, { idleTimeoutMs: 100 });
  const solve = () => manager.execute(async () => {
    const context = await newContext();
    const solver = await em._Z3_mk_solver(context);
    await em._Z3_solver_inc_ref(context, solver);
    await em._async_Z3_solver_check(context, solver); // a pthread that runs and ends
    return version(manager);
  });
  const idle = once(manager, 'idle');
  assert.match(await solve(), /^Z3 /);
  assert.ok(osThreadCount() >= baseline + 3, 'the host and its two prewarmed pthread workers');
  await holdingLoop(idle);
  assert.equal(await waitForThreadCount(baseline, 5000), baseline, 'the idle stop took every thread');
  assert.match(await solve(), /^Z3 /);
  assert.ok(osThreadCount() > baseline);
  await manager.shutdown();
  assert.equal(await waitForThreadCount(baseline, 5000), baseline, 'shutdown() took every thread');
});
