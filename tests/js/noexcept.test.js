// A module built with EXCEPTIONS OFF (the fast fork-join build): the pool works, and an
// error that would have been a C++ exception is an abort, so the call rejects with a
// WasmPanicError of kind abort and the next call gets a fresh host, as the trade-off in
// docs/POOL.md ("Exceptions off") says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ThreadPoolManager, WasmPanicError } from '../../glue/index.js';

const GLUE = fileURLToPath(new URL('../../build/wasm/tests/modules/noexcept_module.mjs', import.meta.url));

test('EXCEPTIONS OFF: fork-join works; a would-be exception is a panic of kind abort; the next call works', async (t) => {
  const mod = await (await import(GLUE)).default();
  const manager = new ThreadPoolManager({ module: GLUE, threads: 2, log: false });
  t.after(() => manager.shutdown());
  assert.equal(await manager.execute(() => mod.fib(20)), 6765);
  const outOfRange = await manager.execute(() => mod.vectorAt(10)).catch((e) => e);
  assert.ok(outOfRange instanceof WasmPanicError, `WasmPanicError, got ${outOfRange?.stack ?? outOfRange}`);
  assert.equal(outOfRange.kind, 'abort');
  const poolError = await manager.execute(() => mod.poolOfZero()).catch((e) => e);
  assert.ok(poolError instanceof WasmPanicError);
  assert.equal(poolError.kind, 'abort');
  assert.match(poolError.panicMessage, /built without C\+\+ exceptions/);
  assert.equal(await manager.execute(() => mod.fib(10)), 55, 'a fresh host after each');
  assert.equal(manager.stats().crashes, 2);
});
