// Throughput with 64 calls in flight: demo.noop() inside one execute(), against Piscina's
// empty task (1 worker, like our single host, and 2 workers, one per core) and the raw
// ping-pong. Calls per second, higher is better; interleaved rounds in one process.
import { Piscina } from 'piscina';
import { loadDemo, newManager, progress, report, reps, row, runSection } from './common.js';
import { inFlight } from './drive.js';
import { RawChannel } from './raw-channel.js';
import { ratio, summarize } from './stats.js';

const DEPTH = 64;

runSection(async () => {
  const total = reps(20_000, 1000);
  const rounds = reps(3, 1);
  const demo = await loadDemo();
  const manager = newManager({ idleTimeoutMs: 600_000 });
  const raw = new RawChannel();
  const task = new URL('./workers/piscina-empty.js', import.meta.url).href;
  const piscina1 = new Piscina({ filename: task, minThreads: 1, maxThreads: 1 });
  const piscina2 = new Piscina({ filename: task, minThreads: 2, maxThreads: 2 });
  const lanes = {
    ours: (n) => manager.execute(() => inFlight(() => demo.noop(), n, DEPTH)),
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
  const vs1 = ratio(s.ours.median, s.piscina1.median);
  const vs2 = ratio(s.ours.median, s.piscina2.median);
  report('throughput', `Throughput, ${DEPTH} calls in flight (${rounds} rounds x ${total} calls)`, [
    row({ id: 'raw', label: 'raw postMessage, 1 worker (baseline)', value: s.raw.median, unit: 'calls/s', stats: s.raw }),
    row({ id: 'piscina1', label: 'Piscina 5, empty task, 1 worker (baseline)', value: s.piscina1.median, unit: 'calls/s', stats: s.piscina1 }),
    row({ id: 'piscina2', label: 'Piscina 5, empty task, 2 workers (baseline)', value: s.piscina2.median, unit: 'calls/s', stats: s.piscina2 }),
    row({ id: 'ours', label: 'demo.noop(), one host', value: s.ours.median, unit: 'calls/s', stats: s.ours,
      baseline: 'piscina1', ratio: vs1, target: 'faster than Piscina (ratio > 1)', met: vs1 > 1 }),
    row({ id: 'oursVsPiscina2', label: 'demo.noop() vs Piscina, 2 workers', value: s.ours.median, unit: 'calls/s', stats: s.ours,
      baseline: 'piscina2', ratio: vs2 }),
    row({ id: 'oursVsRaw', label: 'demo.noop() vs raw postMessage', value: s.ours.median, unit: 'calls/s', stats: s.ours,
      baseline: 'raw', ratio: ratio(s.ours.median, s.raw.median) }),
  ], ['Value = median calls/s over rounds; ratio = ours / baseline (higher is better). The host runs one call at a time by design.']);
});
