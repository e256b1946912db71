// Diagnostic, not a section of bench/run.js: the call rings' two-thread exchange with no
// net under its wake-ups (no heartbeat poll), run --runs times, to catch a wake-up that
// never comes. Each run sends 16,000 calls at depths 1, 2, 7 and 64 (every 11th by port,
// every 7th answered by message) to the miniature host of tests/js/unit/call-ring.test.js
// (tests/js/fixtures/ring-host.mjs), without its poll. A stall (no
// answer for --stall-ms) prints the rings' header words and which side sleeps, and exits
// 2. It caught one stall on each side in ~1,000 runs on a 2-core VM (docs/ARCHITECTURE.md,
// "Wake-ups"); run it under load to make them likelier.
//
//   node bench/js/ring-stress.js [--runs=500] [--stall-ms=3000]
import { MessageChannel, Worker } from 'node:worker_threads';
import { CallRingClient, WAITING_FLAGS, createCallRings } from '../../glue/shared/call-ring.cjs';
import { numberFlag } from './common.js';

const RUNS = numberFlag('runs', 500);
const STALL_MS = numberFlag('stall-ms', 3000);
// The host's side, with no net (pollMs 0): the rings' two-thread test's miniature host.
const RING_HOST = new URL('../../tests/js/fixtures/ring-host.mjs', import.meta.url);

async function run(index) {
  const rings = createCallRings();
  const state = new Int32Array(new SharedArrayBuffer(12)); // ring-host.mjs: [0] 2 when asleep, [1] requests taken
  const client = new CallRingClient(rings);
  const { port1, port2 } = new MessageChannel();
  const host = new Worker(RING_HOST, { workerData: { rings, state: state.buffer, port: port2, pollMs: 0 }, transferList: [port2] });
  host.on('error', (error) => {
    console.error(error);
    process.exit(1);
  });
  const waiting = new Map();
  let answered = 0;
  const settle = (id, value) => {
    waiting.get(id)(value);
    waiting.delete(id);
    answered++;
  };
  host.on('message', ({ id, value }) => settle(id, value));
  let nextId = 0;
  const call = (x) => {
    const id = ++nextId;
    const answer = new Promise((resolve) => waiting.set(id, resolve));
    if (id % 11 === 0 || client.sendCall(id, 'double', [x]) === 'message') {
      port1.postMessage({ id, args: [x] });
      client.sendByPort(id);
    }
    return answer;
  };
  let stop = false;
  (async () => {
    while (!stop) {
      await client.waitForAnswers();
      client.takeAnswers(settle);
    }
  })();
  let depth = 0;
  let answeredBefore = -1;
  const watch = setInterval(() => {
    if (answered === answeredBefore) {
      const words = new Int32Array(rings, 0, 128);
      console.log(`stall in run ${index} at depth ${depth}: ${waiting.size} calls unanswered, the host took ${state[1]} of ${nextId}, ` +
        `${state[0] === 2 ? 'asleep in requested()' : 'running'}; unread answers in the ring: ${client.answersWaiting}; ` +
        `MAIN_WAITING ${words[WAITING_FLAGS.main]}, HOST_WAITING ${words[WAITING_FLAGS.host]}`);
      process.exit(2);
    }
    answeredBefore = answered;
  }, STALL_MS);
  for (depth of [1, 2, 7, 64]) {
    for (let round = 0; round < 4000 / depth; round++) {
      await Promise.all(Array.from({ length: depth }, (_, i) => call(round * depth + i)));
    }
  }
  clearInterval(watch);
  stop = true;
  client.release();
  port1.close();
  await host.terminate();
}

for (let i = 0; i < RUNS; i++) await run(i);
console.log(`${RUNS} runs, no stall`);
