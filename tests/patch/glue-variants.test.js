// Builds the test programs in a covering set of Emscripten configurations (cached),
// patches a copy of each, and checks:
//  - without a proxy, patched glue behaves exactly like stock glue (results, thrown
//    errors, printed output), minus the process-wide handlers it no longer installs;
//  - with a proxy that claims the module, calls through Module are routed with the
//    right module id, name and arguments, and the glue's internal calls are not.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { VARIANTS, buildVariants, freshPatchedDir, haveEmscripten } from './helpers/variants.js';
import { runGlue } from './helpers/run.js';
import { patchGlue, readPatchMarker } from '../../patch/index.js';

const skip = haveEmscripten() ? false : 'Emscripten (em++) is not installed';
let built = new Map();
const patched = new Map();

before(async () => {
  if (skip) return;
  built = await buildVariants(VARIANTS, 2);
  for (const variant of VARIANTS) {
    const paths = built.get(variant.name);
    freshPatchedDir(paths);
    patched.set(variant.name, patchGlue({ input: paths.patchedGlue }));
  }
}, { timeout: 240000 });

for (const variant of VARIANTS) {
  test(`${variant.name}: patched like stock without a proxy`, { skip, timeout: 60000 }, async () => {
    const paths = built.get(variant.name);
    const report = patched.get(variant.name);
    assert.equal(report.changed, true);
    const marker = readPatchMarker(fs.readFileSync(paths.patchedGlue, 'utf8'));
    assert.deepEqual(marker, report.marker);
    assert.equal(marker.wasm, 'calls.wasm');
    assert.equal(marker.es6, variant.kind === 'es6');
    assert.equal(marker.pthreads, variant.pthreads);
    assert.equal(marker.worker, variant.pthreads ? 'calls.worker.cjs' : null);
    if (variant.pthreads) {
      assert.ok(fs.existsSync(path.join(paths.patchedDir, 'calls.worker.cjs')));
      assert.ok(!fs.existsSync(path.join(paths.patchedDir, 'calls.worker.js')));
    }
    assert.ok(fs.existsSync(`${paths.patchedGlue}.map`));
    // Every ES module build of 3.1.6 may be loaded by the host as a function body.
    assert.equal(marker.asScript, variant.kind === 'es6' && variant.pthreads ? true : undefined);

    const [stock, ours] = await Promise.all([
      runGlue(paths.stockGlue, variant, 'stock', 'behaviour'),
      runGlue(paths.patchedGlue, variant, 'patched', 'behaviour'),
    ]);
    const { listeners: stockListeners, ...stockResults } = stock.results;
    const { listeners: ourListeners, ...ourResults } = ours.results;
    assert.deepEqual(ourResults, stockResults);
    assert.deepEqual(ours.printed, stock.printed);
    // Stock glue installs process-wide uncaughtException/unhandledRejection handlers.
    assert.deepEqual(stockListeners, { uncaughtException: 1, unhandledRejection: 1 });
    assert.deepEqual(ourListeners, { uncaughtException: 0, unhandledRejection: 0 });
    // Sanity: the calls did what the program says.
    assert.deepEqual(ourResults.rawAdd, { ok: true, value: 5 });
    assert.deepEqual(ourResults.ccall, { ok: true, value: 42 });
    assert.ok(ours.printed.includes('raw 7'));
    if (variant.embind) {
      assert.deepEqual(ourResults.greet, { ok: true, value: 'hi bob' });
      assert.deepEqual(ourResults.scale2, { ok: true, value: 12 });
      assert.equal(ourResults.mayThrow.ok, false);
      assert.equal(ourResults.mayThrow.type, 'number');
      assert.equal(ourResults.addBad.type, 'BindingError');
      assert.ok(ours.printed.includes('hello 5'));
    }
    if (variant.threads) assert.deepEqual(ourResults.threadSum, { ok: true, value: 500500 });

    // Loaded as the host loads it (a function body, not a module), it behaves the same.
    if (marker.asScript) {
      const script = await runGlue(paths.patchedGlue, variant, 'script', 'behaviour');
      const { listeners: scriptListeners, ...scriptResults } = script.results;
      assert.deepEqual(scriptResults, ourResults);
      assert.deepEqual(script.printed, ours.printed);
      assert.deepEqual(scriptListeners, ourListeners);
    }
  });

  test(`${variant.name}: routed through a claiming proxy`, { skip, timeout: 60000 }, async () => {
    const paths = built.get(variant.name);
    const marker = patched.get(variant.name).marker;
    const { results } = await runGlue(paths.patchedGlue, variant, 'patched', 'routing');
    const id = marker.moduleId;
    assert.equal(results.id, id);
    const expectedExports = ['_rawAdd', '_rawHello', ...(variant.source === 'raw.c' ? ['_rawAbort'] : [])];
    if (variant.embind) expectedExports.push('add', 'mayThrow', 'hello', 'greet', 'scale', ...(variant.pthreads ? ['threadSum'] : []));
    expectedExports.push(...results.allocators);
    assert.deepEqual([...results.exports].sort(), expectedExports.sort());
    const expectedCalls = [[id, '_rawAdd', [1, 2]], [id, '_rawHello', [3]]];
    assert.equal(results.rawAdd, 'routed:_rawAdd');
    if (variant.embind) {
      expectedCalls.push([id, 'add', [2, 3]], [id, 'greet', ['x']], [id, 'scale', [2, 3]]);
      assert.equal(results.add, 'routed:add');
      assert.equal(results.greetStock, 'hi y');
      // The overload table is the stock one, seen through the router.
      assert.ok(results.scaleOverloads.includes('1') && results.scaleOverloads.includes('2'));
      assert.equal(results.addUnclaimed, 5);
    }
    // Only the calls made through Module were routed (user code's Module._malloc is one):
    // not ccall, nor the internal _malloc/_free of the embind string conversion.
    if (results.malloc !== 'absent') expectedCalls.push([id, '_malloc', [8]]);
    assert.deepEqual(results.calls, expectedCalls);
    assert.equal(results.ccall, 42);
    assert.ok(['routed:_malloc', 'absent'].includes(results.malloc));
    assert.equal(results.rawAddUnclaimed, 3);
    assert.equal(results.rawAddOtherProxy, 10);
    if (variant.kind !== 'plain') assert.equal(results.supplied, 23);
  });
}
