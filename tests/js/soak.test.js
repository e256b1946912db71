// 200 crash/restart cycles: the thread count returns to its baseline and memory growth
// stays bounded (reported, not asserted as a number: it depends on V8's heap policy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmPanicError } from '../../glue/index.js';
import { loadDemo, newManager, osThreadCount, waitForThreadCount } from './helpers.js';

const CYCLES = Number(process.env.WASMPOOL_SOAK_CYCLES ?? 200);

test(`${CYCLES} crash/restart cycles leave no thread behind`, async (t) => {
  const demo = await loadDemo();
  const baseline = osThreadCount();
  const manager = newManager(t);
  await manager.execute(() => demo.noop());
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const kinds = ['trap', 'abort', 'oob'];
  for (let i = 0; i < CYCLES; i++) {
    await assert.rejects(manager.execute(() => demo.fault(kinds[i % kinds.length], 'pool', 0)), WasmPanicError);
  }
  assert.equal(await manager.execute(() => demo.add(1, 1)), 2);
  await manager.shutdown();
  assert.equal(await waitForThreadCount(baseline, 5000), baseline);
  global.gc?.();
  const growthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  t.diagnostic(`RSS growth over ${CYCLES} cycles: ${growthMiB.toFixed(1)} MiB`);
  assert.equal(manager.stats().crashes, CYCLES);
});
