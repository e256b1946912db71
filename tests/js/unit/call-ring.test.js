// The call rings alone (glue/shared/call-ring.cjs), without a host: the two encodings, what
// goes by message instead, a full ring, wrapping past the end, and the wake-up protocol
// between two real threads with many calls in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { CallRingClient, CallRingServer, MAX_CLONE, WAITING_FLAGS, createCallRings } from '../../../glue/shared/call-ring.cjs';

function pair() {
  const buffer = createCallRings();
  return { client: new CallRingClient(buffer), server: new CallRingServer(buffer) };
}

function answers(client, mark) {
  const got = [];
  client.takeAnswers((id, value) => got.push([id, value]), mark);
  return got;
}

test('calls are readable as soon as sendCall returns, once each, in order; numbers keep every bit', () => {
  const { client, server } = pair();
  assert.equal(server.take(), null, 'nothing written yet');
  const odd = [-0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, -1.5e-300];
  // The first call of an export introduces its number; the next ones use it.
  assert.equal(client.sendCall(1, 'f', [1, 2]), 'sent');
  assert.equal(client.sendCall(2, 'f', odd), 'sent');
  assert.equal(client.sendCall(3, 'g', ['text', { a: 1 }]), 'sent');
  assert.equal(client.sendCall(4, 'g', [5]), 'sent');
  assert.equal(client.sendCall(5, 'f', []), 'sent');
  assert.deepEqual(server.take(), { id: 1, name: 'f', args: [1, 2] });
  const second = server.take();
  assert.equal(second.name, 'f');
  assert.ok(Object.is(second.args[0], -0));
  assert.ok(Number.isNaN(second.args[1]));
  assert.deepEqual(second.args.slice(2), odd.slice(2));
  assert.deepEqual(server.take(), { id: 3, name: 'g', args: ['text', { a: 1 }] });
  assert.deepEqual(server.take(), { id: 4, name: 'g', args: [5] });
  assert.deepEqual(server.take(), { id: 5, name: 'f', args: [] });
  assert.equal(server.take(), null, 'each is taken once');
});

test('answers: numbers, undefined and small clones in the ring; what does not fit or clone is refused (it goes by message)', () => {
  const { client, server } = pair();
  assert.ok(server.answer(1, -0));
  assert.ok(server.answer(2, undefined));
  assert.ok(server.answer(3, { nested: [1, 'two'] }));
  assert.equal(server.answer(4, new Uint8Array(MAX_CLONE + 1)), false, 'over an entry\'s limit');
  assert.equal(server.answer(5, { f() {} }), false, 'not cloneable');
  const got = answers(client);
  assert.equal(got.length, 3);
  assert.ok(Object.is(got[0][1], -0));
  assert.deepEqual(got.slice(1), [[2, undefined], [3, { nested: [1, 'two'] }]]);
  assert.deepEqual(answers(client), [], 'each answer is read once');
});

test('answers are read up to a mark: one written after it waits for the next read (main drains the output in between)', () => {
  const { client, server } = pair();
  server.answer(1, 10);
  const mark = client.answersMark();
  // Written after main took its mark, while it drained the output channel: its own output
  // may not be drained yet, so it must not be read in this round.
  server.answer(2, 20);
  assert.deepEqual(answers(client, mark), [[1, 10]]);
  assert.deepEqual(answers(client, client.answersMark()), [[2, 20]]);
  // A mark older than what was read since (an outer reader, after an inner one read on)
  // reads nothing, however far the counters wrapped.
  assert.deepEqual(answers(client, mark), []);
  for (let lap = 0; lap < 10; lap++) {
    for (let i = 0; i < 2000; i++) assert.ok(server.answer(100 + i, i));
    assert.equal(answers(client).length, 2000);
  }
  assert.deepEqual(answers(client, mark), [], 'a stale mark after laps of the ring');
});

test('a wait that finds answers there already stays armed until its reader runs: calls sent meanwhile share that read', async () => {
  const { client, server } = pair();
  server.answer(1, 10);
  const wait = client.waitForAnswers();
  assert.notEqual(wait, null);
  // More calls sent in the same turn (a pipelined caller): no wait, no read of their own.
  server.answer(2, 20);
  assert.equal(client.waitForAnswers(), null);
  assert.equal(client.waitForAnswers(), null);
  await wait;
  assert.deepEqual(answers(client), [[1, 10], [2, 20]], 'one read takes them all');
  assert.notEqual(client.waitForAnswers(), null, 'once it ran, the next wait is new');
});

test('the host spins for a request while that pays off; after a spin that found none, one try in 16, but a request there is always seen', () => {
  const { client, server } = pair();
  client.sendCall(1, 'f', [1]);
  assert.equal(server.spinForRequest(), true, 'one is there: found at once');
  server.take();
  assert.equal(server.spinForRequest(), false, 'none comes: the spin runs out');
  client.sendCall(2, 'f', [2]);
  assert.equal(server.spinForRequest(), true, 'not spinning now, yet a request already there is seen');
  server.take();
  let spins = 0;
  for (let i = 0; i < 32; i++) {
    const began = process.hrtime.bigint();
    assert.equal(server.spinForRequest(), false);
    // A spin lasts SPIN_MS (50 us); a skipped try returns in a few microseconds at most.
    if (process.hrtime.bigint() - began >= 45_000n) spins++;
  }
  // Two of the 32 spin; the bound leaves room for a skipped try slowed by preemption.
  assert.ok(spins >= 2 && spins <= 16, `about one try in 16 spins, got ${spins} of 32`);
});

test('the host spins for the next call after a spin that found none when main found its last answer by spinning', () => {
  const { client, server } = pair();
  const spinsNow = () => {
    const began = process.hrtime.bigint();
    assert.equal(server.spinForRequest(), false);
    return process.hrtime.bigint() - began >= 45_000n; // SPIN_MS is 50 us
  };
  assert.equal(spinsNow(), true, 'the first spin runs out: from now on one try in 16');
  let skipped = 0;
  for (let i = 0; i < 8; i++) if (!spinsNow()) skipped++;
  assert.ok(skipped >= 4, `after a spin that found none the host mostly skips (${skipped} of 8)`);
  // Main makes a call and finds its answer by spinning: a sequential caller.
  client.sendCall(1, 'f', [1]);
  server.take();
  assert.ok(server.answer(1, 2));
  assert.equal(client.spinForAnswer(), true);
  assert.deepEqual(answers(client), [[1, 2]]);
  for (let i = 0; i < 4; i++) assert.equal(spinsNow(), true, 'while main spins for its answers, the host spins for their calls');
  // Main waits for its answers by sleeping (calls in flight): back to one try in 16.
  client.waitForAnswers();
  skipped = 0;
  for (let i = 0; i < 8; i++) if (!spinsNow()) skipped++;
  assert.ok(skipped >= 4, `main sleeps for its answers: the host mostly skips again (${skipped} of 8)`);
});

test('a call too large for an entry, or not cloneable, is left to a message: nothing written; its place is a BY_PORT entry', () => {
  const { client, server } = pair();
  assert.equal(client.sendCall(1, 'f', ['x'.repeat(MAX_CLONE)]), 'message');
  assert.equal(client.sendCall(2, 'f', [() => 1]), 'message');
  assert.equal(server.take(), null, 'a refused call writes nothing');
  assert.ok(client.sendByPort(1));
  assert.equal(client.sendCall(3, 'f', ['x'.repeat(MAX_CLONE - 64)]), 'sent', 'just under the limit still fits');
  assert.deepEqual(server.take(), { id: 1, byPort: true });
  assert.equal(server.take().args[0].length, MAX_CLONE - 64);
});

test('a full ring refuses without writing; entries wrap past the end intact, in order, over many rounds', () => {
  const { client, server } = pair();
  let sent = 0;
  while (client.sendCall(sent + 1, 'fill', ['y'.repeat(1000)]) === 'sent') sent++;
  assert.ok(sent > 10 && sent < 70, `the ring holds a bounded number (${sent})`);
  let markers = 0;
  while (client.sendByPort(1000 + markers)) markers++;
  assert.equal(client.sendCall(2000, 'fill', [1]), 'full');
  for (let id = 1; id <= sent; id++) assert.equal(server.take().id, id);
  for (let i = 0; i < markers; i++) assert.deepEqual(server.take(), { id: 1000 + i, byPort: true });
  assert.equal(server.take(), null, 'the refused calls left nothing behind');
  // Sizes that do not divide the ring: every lap ends in a PAD entry somewhere else.
  let next = 1;
  let expected = 1;
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 3000; round++) {
    const burst = 1 + Math.floor(random() * 20);
    for (let i = 0; i < burst; i++) {
      const args = random() < 0.5 ? [next, random()] : [next, 'z'.repeat(Math.floor(random() * 3000))];
      if (client.sendCall(next, 'mixed', args) !== 'sent') break;
      next++;
    }
    for (let call = server.take(); call; call = server.take()) {
      assert.equal(call.id, expected);
      assert.equal(call.args[0], expected);
      expected++;
    }
  }
  assert.equal(expected, next);
  assert.ok(next > 20_000, `${next} calls through a 64 KiB ring`);
});

// The host's side: tests/js/fixtures/ring-host.mjs, a host in miniature that polls every
// POLL_MS, as the real one does at each heartbeat.
const RING_HOST = new URL('../fixtures/ring-host.mjs', import.meta.url);
const POLL_MS = 200;

// Both sides poll as the real ones do at each heartbeat (host-session.js, host-runtime.cjs),
// so a lost wake-up costs a poll period instead of hanging the test; each one is counted.
// This test hung twice in some hundreds of runs before the polls, and a stress copy of it
// lost one wake-up on each side in ~1,000 runs: a notified Atomics.waitAsync that never
// resolved (docs/ARCHITECTURE.md, "Wake-ups"). A protocol bug would lose wake-ups by the
// thousand, so more than a few is a failure.
test('many calls in flight between two threads: each answered once, none lost, whatever the depth', { timeout: 120_000 }, async (t) => {
  const buffer = createCallRings();
  const hostState = new Int32Array(new SharedArrayBuffer(12)); // ring-host.mjs: [2] its lost wake-ups
  let mainRescued = 0;
  const client = new CallRingClient(buffer);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(RING_HOST, {
    workerData: { rings: buffer, port: port2, state: hostState.buffer, pollMs: POLL_MS },
    transferList: [port2],
  });
  t.after(() => worker.terminate());
  worker.on('error', (error) => assert.fail(error));
  const waiting = new Map();
  const settle = (id, value) => {
    const resolve = waiting.get(id);
    assert.ok(resolve, `call ${id} answered once`);
    waiting.delete(id);
    resolve(value);
  };
  worker.on('message', ({ id, value }) => settle(id, value));
  let nextId = 0;
  const call = (x) => {
    const id = ++nextId;
    const answer = new Promise((resolve) => waiting.set(id, resolve));
    // Every 11th by port, as main sends what the ring cannot carry.
    const sent = id % 11 === 0 ? 'message' : client.sendCall(id, 'double', [x]);
    assert.notEqual(sent, 'full');
    if (sent === 'message') {
      port1.postMessage({ id, args: [x] });
      assert.ok(client.sendByPort(id));
    }
    return answer;
  };
  let stop = false;
  let settledCount = 0;
  // As host-session.js does: after each read, a new wait; a lost one is forgotten by the poll.
  const arm = () => {
    if (stop) return;
    client.waitForAnswers()?.then(() => {
      settledCount += client.takeAnswers(settle);
      arm();
    });
  };
  arm();
  let settledAtLastPoll = -1;
  const poll = setInterval(() => {
    if (client.answersWaiting && settledCount === settledAtLastPoll) {
      mainRescued++;
      client.abandonWait();
      settledCount += client.takeAnswers(settle);
      arm();
    }
    settledAtLastPoll = settledCount;
  }, POLL_MS);
  t.after(() => clearInterval(poll));
  for (const depth of [1, 2, 7, 64]) {
    const results = [];
    for (let round = 0; round < 4000 / depth; round++) {
      const batch = Array.from({ length: depth }, (_, i) => call(round * depth + i));
      results.push(...await Promise.all(batch));
    }
    assert.deepEqual(results, Array.from({ length: results.length }, (_, i) => i * 2), `depth ${depth}`);
  }
  assert.equal(waiting.size, 0);
  const lost = [Atomics.load(hostState, 2), mainRescued];
  t.diagnostic(`wake-ups that did not come: ${lost[0]} of the host's, ${lost[1]} of main's`);
  assert.ok(lost[0] + lost[1] <= 3, `${lost[0]} of the host's and ${lost[1]} of main's wake-ups did not come`);
  stop = true;
  client.release();
  port1.close();
});

test('release() ends main\'s wait when the host is gone', { timeout: 60_000 }, async () => {
  const { client } = pair();
  const wait = client.waitForAnswers();
  assert.equal(client.waitForAnswers(), null, 'one wait at a time');
  client.release();
  await wait;
  assert.deepEqual(answers(client), []);
});

test('a wait whose wake-up was lost, once abandoned, does not take the next wake-up from the new one', { timeout: 60_000 }, async () => {
  const buffer = createCallRings();
  const client = new CallRingClient(buffer);
  const server = new CallRingServer(buffer);
  const flags = new Int32Array(buffer);
  const lost = client.waitForAnswers();
  assert.equal(Atomics.load(flags, WAITING_FLAGS.main), 1);
  Atomics.store(flags, WAITING_FLAGS.main, 0); // so the answer will not notify: a lost wake-up
  assert.ok(server.answer(1, 1));
  assert.equal(client.answersWaiting, true);
  client.abandonWait(); // what main's heartbeat net does when it finds answers it was not woken for
  assert.deepEqual(answers(client), [[1, 1]]);
  const fresh = client.waitForAnswers();
  assert.notEqual(fresh, null, 'a new wait, not the lost one standing in for it');
  assert.ok(server.answer(2, 2));
  // The lost wait is still registered, and older: a notify of one waiter would go to it.
  const timedOut = new Promise((resolve) => setTimeout(resolve, 2000, 'not woken'));
  assert.notEqual(await Promise.race([fresh.then(() => 'woken'), timedOut]), 'not woken');
  await lost; // woken by the same notify; it disarms nothing of the new wait's
  assert.deepEqual(answers(client), [[2, 2]]);
  assert.notEqual(client.waitForAnswers(), null, 'and the wait after it is new again');
  client.release();
});
