// Code nobody here wrote, hosted through execute(): moodycamel::ConcurrentQueue's own
// test programs (Debian's libconcurrentqueue-dev ships them as its autopkgtest; they start
// 20 std::threads and assert on the results) and rvaser/thread_pool (Debian's
// libthread-pool-dev), a std::thread pool made in one call and used in the next. Also
// the patched glue of a module that relies on its own prewarmed worker, used on Node's
// main thread with no manager: it must behave exactly like stock glue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { WasmCallError } from '../../glue/index.js';
import { testModule } from './helpers.js';

const thirdParty = testModule('third_party_module');
const PREWARM_GLUE = testModule('prewarm_module').glue;

const loadThirdParty = thirdParty.load;

const newManager = (t, options) => thirdParty.manager(t, options);

test("moodycamel::ConcurrentQueue's own tests pass through execute()", async (t) => {
  const mod = await loadThirdParty();
  const manager = newManager(t);
  for (const n of [1, 2, 3]) {
    assert.equal(await manager.execute(() => mod.runConcurrentQueueTest(n), { hangTimeoutMs: 60_000 }), 0, `test${n}.cpp`);
  }
  // Each run again on the same host: the threads' workers are reused.
  for (const n of [2, 3]) assert.equal(await manager.execute(() => mod.runConcurrentQueueTest(n)), 0);
  assert.equal(manager.stats().crashes + manager.stats().hangs, 0);
});

test('rvaser/thread_pool: a std::thread pool made in one call computes in the next; a task exception reaches the caller', async (t) => {
  const mod = await loadThirdParty();
  const manager = newManager(t, { idleTimeoutMs: 60_000 });
  assert.equal(await manager.execute(() => mod.createThreadPool(4), { hangTimeoutMs: 60_000 }), 4);
  const n = 20_000;
  const expected = ((n - 1) * n * (2 * n - 1)) / 6;
  assert.equal(await manager.execute(() => mod.threadPoolSumOfSquares(n, 16)), expected);
  assert.equal(await manager.execute(() => mod.threadPoolSumOfSquares(n, 3)), expected);
  const error = await manager.execute(() => mod.threadPoolTaskThrows()).catch((e) => e);
  assert.ok(error instanceof WasmCallError, `WasmCallError, got ${error?.stack ?? error}`);
  assert.equal(error.code, 'ERR_WASM_CPP_EXCEPTION');
  assert.match(error.message, /thrown inside a thread_pool task/);
  assert.equal(await manager.execute(() => mod.threadPoolSumOfSquares(n, 8)), expected, 'the pool lives on');
  await manager.execute(() => mod.destroyThreadPool());
});

test('patched glue on Node\'s main thread, no manager: prewarm as built, like stock glue; pthreadPoolSize: 0 opts out', () => {
  const script = `
    import { readdirSync } from 'node:fs';
    const threads = () => readdirSync('/proc/self/task').length;
    const create = (await import(${JSON.stringify(PREWARM_GLUE)})).default;
    const before = threads();
    const stock = await create();
    const prewarmed = threads() - before;
    const value = stock.joinOneThread();
    const light = await create({ pthreadPoolSize: 0 });
    console.log(JSON.stringify({ value, prewarmed, lightAdded: threads() - before - prewarmed }));
    process.exit(0);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim());
  assert.equal(result.value, 42, 'the export joins its std::thread on the prewarmed worker');
  assert.equal(result.prewarmed, 1, 'one worker, as built with -sPTHREAD_POOL_SIZE=1');
  assert.equal(result.lightAdded, 0, 'the opt-in light instance starts no worker');
});
