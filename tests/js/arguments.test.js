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

class Vector extends Float64Array {
  norm() {
    return Math.hypot(...this);
  }
}

class ParseError extends Error {
  describe() {
    return `parse error: ${this.message}`;
  }
}

const REFUSED = [
  ['a class instance with methods', () => [new Point(3)], /argument 1 of busyStdThread\(\) cannot be sent .* an instance of Point/],
  ['a class instance nested in a plain object', () => [{ at: [new Point(3)] }], /argument 1\.at\[0\] of busyStdThread\(\)/],
  ['a function', () => [() => 1], /argument 1 of busyStdThread\(\) .* a function/],
  ['a symbol', () => [Symbol('s')], /a symbol/],
  ['an Error subclass instance', () => [new ParseError('x')], /argument 1 of busyStdThread\(\) .* an instance of ParseError/],
  ['a typed-array subclass with methods', () => [{ v: new Vector(2) }], /argument 1\.v of busyStdThread\(\) .* an instance of Vector/],
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
  const { checkArguments } = await import('../../glue/main/arguments.js');
  const plain = [1, 'x', null, undefined, 2n, { a: [1, { b: new Float64Array(2) }] }, new Map([[1, { c: 2 }]]),
    new Set([1]), new Date(), /re/, new Error('e'), new ArrayBuffer(8), Object.create(null)];
  assert.equal(checkArguments('f', plain), null);
  const cyclic = { name: 'loop' };
  cyclic.self = cyclic;
  assert.equal(checkArguments('f', [cyclic]), null, 'cycles are fine (structured clone keeps them)');
});

test('subclasses of cloneable built-ins are refused with their path: the copy is the built-in, without their methods', async () => {
  const { checkArguments } = await import('../../glue/main/arguments.js');
  class NoMethods extends Error {}
  class Bytes extends Uint8Array {
    get first() {
      return this[0];
    }
  }
  const cases = [
    [[new ParseError('p')], /argument 1 of f\(\) cannot be sent to the pool host: it is an instance of ParseError; a copy would lose its prototype/],
    [[1, { errors: [new NoMethods('n')] }], /argument 2\.errors\[0\] of f\(\) .* an instance of NoMethods/],
    [[new AggregateError([], 'a')], /an instance of AggregateError/],
    [[new DOMException('d')], /an instance of DOMException/],
    [[new Vector(3)], /argument 1 of f\(\) .* an instance of Vector/],
    [[new Map([['k', new Bytes(1)]])], /argument 1\.get\(k\) of f\(\) .* an instance of Bytes/],
  ];
  for (const [args, pattern] of cases) {
    const error = checkArguments('f', args);
    assert.ok(error instanceof TypeError, `refused: ${pattern}`);
    assert.match(error.message, pattern);
  }
  // What structured clone really does with them: the prototype is gone.
  assert.equal(Object.getPrototypeOf(structuredClone(new ParseError('p'))), Error.prototype);
  assert.equal(Object.getPrototypeOf(structuredClone(new Vector(1))), Float64Array.prototype);
});

test('plain Errors, the error types structured clone keeps, plain typed arrays and Buffers pass', async () => {
  const { checkArguments } = await import('../../glue/main/arguments.js');
  const kept = [new Error('e'), new EvalError('e'), new RangeError('r'), new ReferenceError('r'), new SyntaxError('s'),
    new TypeError('t'), new URIError('u'), Object.assign(new Error('with a code'), { code: 'E_X' })];
  for (const error of kept) {
    assert.equal(checkArguments('f', [error]), null, error.name);
    assert.equal(Object.getPrototypeOf(structuredClone(error)), Object.getPrototypeOf(error), `the copy is a ${error.name}`);
  }
  const views = [new Int8Array(1), new Uint8Array(1), new Uint8ClampedArray(1), new Int16Array(1), new Uint16Array(1),
    new Int32Array(1), new Uint32Array(1), new Float32Array(1), new Float64Array(1), new BigInt64Array(1),
    new BigUint64Array(1), new DataView(new ArrayBuffer(4)), Buffer.from('bytes'), new SharedArrayBuffer(8)];
  assert.equal(checkArguments('f', views), null);
});
