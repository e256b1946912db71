// The call slot alone (glue/shared/call-slot.js), without a host: what fits in it, what is sent
// back by message instead, and the order it keeps against postMessage. The order rests on
// two things the file's header states: send() publishes the call (fields, then the
// Atomics.add of REQUEST_SEQ) before it returns, so a message posted after it can never
// arrive before the call is readable; and the host reads the slot before it queues any
// message (host-runtime.js). The worker below follows that rule and records what it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { serialize } from 'node:v8';
import {
  CAPACITY, CallSlotClient, CallSlotServer, RESPONSE_BY_MESSAGE, RESPONSE_IN_SLOT, createCallSlot,
} from '../../../glue/shared/call-slot.js';

// The largest string argument whose call { name, args: [string] } still fits.
function largestFitting(name) {
  let length = CAPACITY;
  while (serialize({ name, args: ['x'.repeat(length)] }).length > CAPACITY) length--;
  return length;
}

test('a call that fits goes through the slot, readable at once and taken once; its result comes back there', async () => {
  const buffer = createCallSlot();
  const client = new CallSlotClient(buffer);
  const server = new CallSlotServer(buffer);
  assert.equal(server.take(), null, 'nothing written yet');
  const answer = client.send(7, 'add', [2, 3]);
  assert.ok(answer instanceof Promise);
  assert.deepEqual(server.take(), { id: 7, name: 'add', args: [2, 3] }, 'published before send() returned');
  assert.equal(server.take(), null, 'a call is taken once');
  assert.equal(server.answer(7, { sum: 5 }), true);
  assert.deepEqual(await answer, { id: 7, kind: RESPONSE_IN_SLOT, value: { sum: 5 } });
});

test('the 4 KiB limit: a call whose encoding does not fit is refused by the slot (it goes by message), and nothing is written', () => {
  assert.equal(CAPACITY, 4096);
  const buffer = createCallSlot();
  const client = new CallSlotClient(buffer);
  const server = new CallSlotServer(buffer);
  const fits = largestFitting('f');
  assert.equal(client.send(1, 'f', ['x'.repeat(fits + 1)]), null, `${fits + 1} characters: over the capacity`);
  assert.equal(client.send(2, 'f', [() => 1]), null, 'not serializable: postMessage reports it');
  assert.equal(server.take(), null, 'a refused call leaves the slot untouched');
  const answer = client.send(3, 'f', ['x'.repeat(fits)]);
  assert.ok(answer, `${fits} characters: exactly fits`);
  const taken = server.take();
  assert.equal(taken.id, 3);
  assert.equal(taken.args[0].length, fits);
  server.answer(3, 0);
  return answer;
});

test('a result that does not fit (or cannot be serialized) is refused by the slot: main is told it comes by message', async () => {
  const buffer = createCallSlot();
  const client = new CallSlotClient(buffer);
  const server = new CallSlotServer(buffer);
  for (const [id, value] of [[1, new Uint8Array(CAPACITY)], [2, { f: () => 1 }]]) {
    const answer = client.send(id, 'big', []);
    assert.equal(server.take().id, id);
    assert.equal(server.answer(id, value), false, 'refused: the host must post it');
    server.answeredByMessage(id);
    assert.deepEqual(await answer, { id, kind: RESPONSE_BY_MESSAGE }, 'no value in the slot');
  }
  // Just under the limit still comes back in the slot.
  const answer = client.send(3, 'small', []);
  server.take();
  const value = new Uint8Array(CAPACITY - 64).fill(9);
  assert.equal(server.answer(3, value), true);
  assert.deepEqual((await answer).value, value);
});

test('release() frees a waiter whose host is gone: no value, id 0', async () => {
  const buffer = createCallSlot();
  const client = new CallSlotClient(buffer);
  const answer = client.send(1, 'f', []);
  client.release();
  assert.deepEqual(await answer, { id: 0, kind: RESPONSE_BY_MESSAGE });
});

// A host in miniature: it reads the slot before it queues a message, as HostRuntime does, and
// answers slot calls in the slot, message calls by message.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.callSlotUrl).then(({ CallSlotServer }) => {
  const server = new CallSlotServer(workerData.buffer);
  const order = [];
  const run = (call, viaSlot) => {
    order.push(call.id);
    if (viaSlot) server.answer(call.id, call.args[0] * 2);
    else parentPort.postMessage({ type: 'result', id: call.id, value: call.args[0] * 2 });
  };
  const takeFromSlot = () => {
    const call = server.take();
    if (call) run(call, true);
  };
  const watch = () => server.changed().then(() => {
    takeFromSlot();
    watch();
  });
  watch();
  parentPort.on('message', (message) => {
    if (message.type === 'order') return parentPort.postMessage({ type: 'order', order });
    takeFromSlot();
    run(message, false);
  });
  parentPort.postMessage({ type: 'up' });
});
`;

test('order against messages: a slot call followed at once by a message call runs first, every time, in a real worker', async (t) => {
  const buffer = createCallSlot();
  const client = new CallSlotClient(buffer);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { buffer, callSlotUrl: new URL('../../../glue/shared/call-slot.js', import.meta.url).href },
  });
  t.after(() => worker.terminate());
  const byMessage = new Map();
  let onOrder;
  worker.on('message', (message) => {
    if (message.type === 'result') byMessage.get(message.id)(message.value);
    if (message.type === 'order') onOrder(message.order);
  });
  await new Promise((resolve) => worker.once('message', resolve)); // 'up'
  const ROUNDS = 300;
  for (let round = 0; round < ROUNDS; round++) {
    const first = 2 * round + 1;
    const second = first + 1;
    const slotAnswer = client.send(first, 'double', [first]);
    assert.ok(slotAnswer);
    const messageAnswer = new Promise((resolve) => byMessage.set(second, resolve));
    worker.postMessage({ type: 'call', id: second, name: 'double', args: [second] });
    const [inSlot, byPost] = await Promise.all([slotAnswer, messageAnswer]);
    assert.deepEqual(inSlot, { id: first, kind: RESPONSE_IN_SLOT, value: 2 * first });
    assert.equal(byPost, 2 * second);
  }
  worker.postMessage({ type: 'order' });
  const order = await new Promise((resolve) => {
    onOrder = resolve;
  });
  assert.deepEqual(order, Array.from({ length: 2 * ROUNDS }, (_, i) => i + 1), 'every call ran in the order main sent it');
});
