// Arguments that cannot cross to the host are refused before anything is sent, with a
// TypeError naming the export and the argument; every failure of a routed call is a
// rejected Promise, whether the host is ready or still starting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testModule } from './helpers.js';
import { ThreadPoolManager } from '../../glue/index.js';

const threadsModule = testModule('threads_module');
const THREADS_GLUE = threadsModule.glue;

const loadThreadsModule = threadsModule.load;

class Point {
  constructor(x) {
    this.x = x;
  }
  get double() {
    return this.x * 2;
  }
}

const REFUSED = [
  ['a class instance with methods', () => [new Point(3)], /argument 1 of busyStdThread\(\) cannot be sent .* an instance of Point/],
  ['a class instance nested in a plain object', () => [{ at: [new Point(3)] }], /argument 1\.at\[0\] of busyStdThread\(\)/],
  ['a function', () => [() => 1], /argument 1 of busyStdThread\(\) .* a function/],
  ['a symbol', () => [Symbol('s')], /a symbol/],
];

for (const [what, args, pattern] of REFUSED) {
  for (const when of ['ready', 'starting']) {
    test(`${what} is refused before anything is sent (host ${when}), as a rejection`, async (t) => {
      const mod = await loadThreadsModule();
      const manager = new ThreadPoolManager({ module: THREADS_GLUE, threads: 1, log: false });
      t.after(() => manager.shutdown());
      if (when === 'ready') await manager.start();
      const calls = manager.stats().calls;
      const result = await manager.execute(() => {
        let returned;
        assert.doesNotThrow(() => {
          returned = mod.busyStdThread(...args());
        }, 'never a synchronous throw');
        assert.ok(returned instanceof Promise);
        return returned.then(() => 'resolved', (error) => error);
      });
      assert.ok(result instanceof TypeError, `TypeError, got ${result?.stack ?? result}`);
      assert.match(result.message, pattern);
      assert.equal(manager.stats().calls, calls, 'nothing was sent');
      assert.equal(await manager.execute(() => mod.joinOneThread()), 42, 'the host is unaffected');
    });
  }
}

test('an embind object made on main is refused, naming its class', async (t) => {
  const mod = await loadThreadsModule();
  const box = new mod.Box(2.5);
  t.after(() => box.delete());
  assert.equal(mod.unbox(box), 2.5, 'it works on the instance that made it');
  const manager = new ThreadPoolManager({ module: THREADS_GLUE, threads: 1, log: false });
  t.after(() => manager.shutdown());
  const error = await manager.execute(() => mod.unbox(box)).catch((e) => e);
  assert.ok(error instanceof TypeError, `TypeError, got ${error?.stack ?? error}`);
  assert.match(error.message, /argument 1 of unbox\(\) cannot be sent to the pool host: it is an embind object \(Box\)/);
});

test('plain data crosses: numbers, strings, plain objects, arrays, typed arrays, Maps, Dates', async (t) => {
  const mod = await loadThreadsModule();
  const manager = new ThreadPoolManager({ module: THREADS_GLUE, threads: 1, log: false });
  t.after(() => manager.shutdown());
  assert.equal(await manager.execute(() => mod.busyStdThread(5)), 5);
  // embind converts the value; what matters is that the checker lets plain data through
  const { checkArguments } = await import('../../glue/arguments.js');
  const plain = [1, 'x', null, undefined, 2n, { a: [1, { b: new Float64Array(2) }] }, new Map([[1, { c: 2 }]]),
    new Set([1]), new Date(), /re/, new Error('e'), new ArrayBuffer(8), Object.create(null)];
  assert.equal(checkArguments('f', plain), null);
  const cyclic = { name: 'loop' };
  cyclic.self = cyclic;
  assert.equal(checkArguments('f', [cyclic]), null, 'cycles are fine (structured clone keeps them)');
});
