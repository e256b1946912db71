// Throughput with 64 calls in flight: demo.noop() inside one execute(), against
//  - a raw postMessage ping-pong with a bare worker, one call at a time (the issue's
//    baseline: keeping calls in flight must beat waiting for each answer by 1.5x),
//  - the same raw channel with 64 in flight (the ceiling of any postMessage design),
//  - Piscina's empty task on 1 worker (like our single host) and on 2 (one per core),
//    configured as its users would for pipelined calls: concurrentTasksPerWorker = the
//    pipeline depth, so a worker is handed the next tasks before the first returns
//    (with its default of 1 it would be measured one call at a time per worker).
// Calls per second, higher is better; interleaved rounds in one process.
import { loadDemo, newManager, progress, report, reps, row, runSection } from './common.js';
import { inFlight } from './drive.js';
import { emptyTaskPool, piscinaLabel } from './piscina.js';
import { RawChannel } from './raw-channel.js';
import { ratio, summarize } from './stats.js';

const DEPTH = 64;

runSection(async () => {
  const total = reps(20_000, 1000);
  const rounds = reps(3, 1);
  const demo = await loadDemo();
  const manager = newManager({ idleTimeoutMs: 600_000 });
  const raw = new RawChannel();
  const piscina1 = emptyTaskPool(1, { concurrentTasksPerWorker: DEPTH });
  const piscina2 = emptyTaskPool(2, { concurrentTasksPerWorker: DEPTH });
  const lanes = {
    ours: (n) => manager.execute(() => inFlight(() => demo.noop(), n, DEPTH)),
    rawPingPong: (n) => inFlight(() => raw.call('noop', []), n, 1),
    raw: (n) => inFlight(() => raw.call('noop', []), n, DEPTH),
    piscina1: (n) => inFlight(() => piscina1.run(null), n, DEPTH),
    piscina2: (n) => inFlight(() => piscina2.run(null), n, DEPTH),
  };
  const results = Object.fromEntries(Object.keys(lanes).map((k) => [k, []]));
  try {
    for (const run of Object.values(lanes)) await run(Math.min(2000, total));
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of Object.entries(lanes)) results[name].push(await run(total));
      progress(`round ${round + 1}/${rounds}: ${Object.entries(results).map(([k, v]) => `${k} ${Math.round(v.at(-1))}/s`).join(', ')}`);
    }
  } finally {
    await manager.shutdown();
    await raw.close();
    await piscina1.destroy();
    await piscina2.destroy();
  }
  const s = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, summarize(v)]));
  const vsPingPong = ratio(s.ours.median, s.rawPingPong.median);
  const vs1 = ratio(s.ours.median, s.piscina1.median);
  const vs2 = ratio(s.ours.median, s.piscina2.median);
  report('throughput', `Throughput, ${DEPTH} calls in flight (${rounds} rounds x ${total} calls)`, [
    row({ id: 'rawPingPong', label: 'raw postMessage ping-pong, 1 worker, one call at a time (baseline)', value: s.rawPingPong.median, unit: 'calls/s', stats: s.rawPingPong }),
    row({ id: 'raw', label: `raw postMessage, 1 worker, ${DEPTH} in flight (baseline)`, value: s.raw.median, unit: 'calls/s', stats: s.raw }),
    row({ id: 'piscina1', label: `${piscinaLabel(1, DEPTH)} (baseline)`, value: s.piscina1.median, unit: 'calls/s', stats: s.piscina1 }),
    row({ id: 'piscina2', label: `${piscinaLabel(2, DEPTH)} (baseline)`, value: s.piscina2.median, unit: 'calls/s', stats: s.piscina2 }),
    row({ id: 'oursVsPingPong', label: `demo.noop(), one host, ${DEPTH} in flight`, value: s.ours.median, unit: 'calls/s', stats: s.ours,
      baseline: 'rawPingPong', ratio: vsPingPong, target: '>= 1.5x raw ping-pong', met: vsPingPong >= 1.5 }),
    row({ id: 'ours', label: 'demo.noop() vs Piscina, 1 worker', value: s.ours.median, unit: 'calls/s', stats: s.ours,
      baseline: 'piscina1', ratio: vs1, target: 'faster than Piscina (ratio > 1)', met: vs1 > 1 }),
    row({ id: 'oursVsPiscina2', label: 'demo.noop() vs Piscina, 2 workers', value: s.ours.median, unit: 'calls/s', stats: s.ours,
      baseline: 'piscina2', ratio: vs2 }),
    row({ id: 'oursVsRaw', label: `demo.noop() vs raw postMessage, ${DEPTH} in flight`, value: s.ours.median, unit: 'calls/s', stats: s.ours,
      baseline: 'raw', ratio: ratio(s.ours.median, s.raw.median) }),
  ], [
    'Value = median calls/s over rounds; ratio = ours / baseline (higher is better). The host runs one call at a time by design.',
    `Piscina runs with concurrentTasksPerWorker = ${DEPTH} (the pipeline depth), as its users would set it for calls in flight.`,
  ]);
});
