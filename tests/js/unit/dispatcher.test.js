// Which host an execute() occupies, and the queue in front of the hosts, without hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../../glue/main/dispatcher.js';
import { WasmShutdownError } from '../../../glue/main/errors.js';
import { flush } from './fake-session.js';

function dispatcher({ hosts = 2, perHost = 1, maxQueue = Infinity, states } = {}) {
  const state = states ?? new Array(hosts).fill('ready');
  return { d: new Dispatcher({ hosts, perHost, maxQueue, stateOf: (i) => state[i] }), state };
}

test('work goes to a free host, the least occupied first; then it waits, first in first out', async () => {
  const { d } = dispatcher({ hosts: 2, perHost: 1 });
  const a = d.enqueue();
  const b = d.enqueue();
  assert.deepEqual([await a.granted, await b.granted], [0, 1]);
  const c = d.enqueue();
  const e = d.enqueue();
  assert.equal(d.queued, 2);
  const order = [];
  c.granted.then((i) => order.push(['c', i]));
  e.granted.then((i) => order.push(['e', i]));
  d.release(b);
  await flush();
  assert.deepEqual(order, [['c', 1]], 'the first waiting one takes the freed place');
  d.release(a);
  await flush();
  assert.deepEqual(order, [['c', 1], ['e', 0]]);
  assert.equal(d.queued, 0);
  assert.deepEqual([d.occupants(0), d.occupants(1)], [1, 1]);
});

test('past maxQueue the work is refused with ERR_WASM_QUEUE_FULL naming the bound and the option', () => {
  const { d } = dispatcher({ hosts: 1, perHost: 1, maxQueue: 1 });
  d.enqueue();
  d.enqueue();
  assert.throws(() => d.enqueue(), (error) => error.code === 'ERR_WASM_QUEUE_FULL' &&
    /1 execute\(\)\/run\(\) calls already wait/.test(error.message) && /options\.maxQueue/.test(error.message));
});

test('work that stops waiting leaves the queue; shutdown rejects what waits', async () => {
  const { d } = dispatcher({ hosts: 1, perHost: 1 });
  const running = d.enqueue();
  const gaveUp = d.enqueue();
  const waiting = d.enqueue();
  d.release(gaveUp);
  assert.equal(d.queued, 1);
  d.release(running);
  assert.equal(await waiting.granted, 0, 'the place went to the one still waiting');
  const late = d.enqueue();
  d.rejectQueued(new WasmShutdownError());
  await assert.rejects(late.granted, WasmShutdownError);
  assert.equal(d.queued, 0);
});

test('a host being replaced gets no new work while another host is ready; pump() hands it out when it is', async () => {
  const { d, state } = dispatcher({ hosts: 2, perHost: 1, states: ['ready', 'replacing'] });
  const a = d.enqueue();
  assert.equal(await a.granted, 0);
  const b = d.enqueue();
  assert.equal(d.queued, 1, 'waits for the ready host rather than the replacement');
  state[1] = 'ready';
  d.pump();
  assert.equal(await b.granted, 1);
  const only = dispatcher({ hosts: 1, perHost: 1, states: ['replacing'] });
  assert.equal(await only.d.enqueue().granted, 0, 'with no other host, the replacement is waited for');
});

test('unbounded places per host: everything shares the host, nothing queues', async () => {
  const { d } = dispatcher({ hosts: 1, perHost: Infinity, maxQueue: 0 });
  const tickets = Array.from({ length: 5 }, () => d.enqueue());
  assert.deepEqual(await Promise.all(tickets.map((t) => t.granted)), [0, 0, 0, 0, 0]);
  assert.equal(d.occupants(0), 5);
});

test('a host silent on its calls takes no more work: it waits for a host that answers, or a free place', async () => {
  const stalled = [false, false];
  const d = new Dispatcher({ hosts: 2, perHost: 4, maxQueue: Infinity, stateOf: () => 'ready', stalled: (i) => stalled[i] });
  const first = [d.enqueue(), d.enqueue()];
  assert.deepEqual(await Promise.all(first.map((t) => t.granted)), [0, 1]);
  stalled[0] = true; // host 0's call runs long (or hangs)
  const more = [d.enqueue(), d.enqueue(), d.enqueue()];
  assert.deepEqual(await Promise.all(more.map((t) => t.granted)), [1, 1, 1], 'all behind the host that answers');
  const waiting = d.enqueue();
  assert.equal(d.queued, 1, 'host 1 is full and host 0 silent: it waits on main');
  d.release(more[0]);
  assert.equal(await waiting.granted, 1);
  stalled[0] = false; // host 0 answered
  const later = d.enqueue();
  assert.equal(await later.granted, 0);
  // An empty host takes work whatever the predicate says: it has no calls to be silent on.
  d.release(first[0]);
  d.release(later);
  stalled[0] = true;
  assert.equal(await d.enqueue().granted, 0);
});
