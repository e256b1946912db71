// Routing by async context, without Emscripten: globalThis.__wasmProxy and Route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Route, enclosingRoutes, installProxy } from '../../../glue/main/proxy.js';

installProxy();
const proxy = globalThis.__wasmProxy;

function route(moduleId, calls, owner = {}) {
  return new Route({ owner, moduleId, call: (r, name, args) => {
    calls.push({ moduleId: r.moduleId, name, args });
    return Promise.resolve(`${moduleId}:${name}`);
  } });
}

test('only calls made in the route\'s async context are claimed, across awaits', async () => {
  const calls = [];
  const r = route('m1', calls);
  assert.equal(proxy.claims('m1'), false);
  const result = await r.run(async () => {
    assert.equal(proxy.claims('m1'), true);
    assert.equal(proxy.claims('m2'), false);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(proxy.claims('m1'), true, 'still routed after an await');
    return proxy.call('m1', 'f', [1]);
  });
  assert.equal(result, 'm1:f');
  assert.deepEqual(calls, [{ moduleId: 'm1', name: 'f', args: [1] }]);
  assert.equal(proxy.claims('m1'), false);
});

test('concurrent routes never see each other; nested routes of other modules stack', async () => {
  const a = [];
  const b = [];
  await Promise.all([
    route('ma', a).run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(proxy.claims('mb'), false);
      await proxy.call('ma', 'x', []);
    }),
    route('mb', b).run(async () => {
      assert.equal(proxy.claims('ma'), false);
      await proxy.call('mb', 'y', []);
    }),
  ]);
  assert.deepEqual(a.map((c) => c.name), ['x']);
  assert.deepEqual(b.map((c) => c.name), ['y']);
  const outerOwner = {};
  await route('outer', [], outerOwner).run(() => route('inner', []).run(() => {
    assert.equal(proxy.claims('outer'), true);
    assert.equal(proxy.claims('inner'), true);
    assert.deepEqual([...enclosingRoutes()].map((r) => r.moduleId), ['inner', 'outer']);
    assert.equal([...enclosingRoutes()][1].owner, outerOwner);
  }));
});

test('a call nobody routes is rejected with a code', async () => {
  await assert.rejects(proxy.call('nobody', 'f', []), (error) => error.code === 'ERR_WASM_NOT_ROUTED');
});

test('the proxy is one frozen object shared through Symbol.for', () => {
  assert.ok(Object.isFrozen(proxy));
  assert.equal(globalThis[Symbol.for('wasm-threadpool.proxy.v1')].proxy, proxy);
});
