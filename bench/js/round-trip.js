// Proxy round trip of an empty export: `await demo.noop()` inside one execute(), one call
// after another, against (a) a raw postMessage ping-pong with a bare worker, same message
// shapes, and (b) Piscina running an empty task on one worker (its defaults: one call at a
// time is what this measures). All three run in this process, interleaved round by round,
// so machine noise hits them alike.
// Targets: within 1.5x of the raw ping-pong (DESIGN.md); at most 0.2x Piscina's time (the
// issue's target: a call into wasm should cost a fraction of a general-purpose pool's).
import { loadDemo, newManager, progress, report, reps, row, runSection } from './common.js';
import { sequential } from './drive.js';
import { emptyTaskPool, piscinaLabel } from './piscina.js';
import { RawChannel } from './raw-channel.js';
import { median, ratio, summarize } from './stats.js';

runSection(async () => {
  const calls = reps(2000, 200);
  const rounds = reps(5, 2);
  // Warm-up: a full round per lane. With 500 calls each, the first measured round was
  // still 2-10x slower than the rest for every lane (ours 4.8-20.6 us against ~2.2 in the
  // next rounds, Piscina 25-80 us against ~12.5), while V8 optimised their paths.
  const warmup = calls;
  const demo = await loadDemo();
  const manager = newManager({ idleTimeoutMs: 600_000 });
  const raw = new RawChannel();
  const piscina = emptyTaskPool(1);
  const lanes = {
    ours: { run: (n) => manager.execute(() => sequential(() => demo.noop(), n)), samples: [], medians: [] },
    oursExecutePerCall: { run: (n) => sequential(() => manager.execute(() => demo.noop()), n), samples: [], medians: [] },
    raw: { run: (n) => sequential(() => raw.call('noop', []), n), samples: [], medians: [] },
    piscina: { run: (n) => sequential(() => piscina.run(null), n), samples: [], medians: [] },
  };
  try {
    for (const lane of Object.values(lanes)) await lane.run(warmup);
    for (let round = 0; round < rounds; round++) {
      for (const [name, lane] of Object.entries(lanes)) {
        const samples = await lane.run(calls);
        lane.samples.push(...samples);
        lane.medians.push(median(samples));
      }
      progress(`round ${round + 1}/${rounds}: ours ${lanes.ours.medians.at(-1).toFixed(1)} us, raw ${lanes.raw.medians.at(-1).toFixed(1)} us, piscina ${lanes.piscina.medians.at(-1).toFixed(1)} us`);
    }
  } finally {
    await manager.shutdown();
    await raw.close();
    await piscina.destroy();
  }
  const s = Object.fromEntries(Object.entries(lanes).map(([k, lane]) => [k, { ...summarize(lane.samples), rounds: summarize(lane.medians) }]));
  const vsRaw = ratio(s.ours.median, s.raw.median);
  const vsPiscina = ratio(s.ours.median, s.piscina.median);
  report('roundTrip', `Proxy round trip of an empty export (${rounds} rounds x ${calls} sequential calls)`, [
    row({ id: 'raw', label: 'raw postMessage ping-pong (baseline)', value: s.raw.median, unit: 'us', stats: s.raw }),
    row({ id: 'piscina', label: `${piscinaLabel(1)} (baseline)`, value: s.piscina.median, unit: 'us', stats: s.piscina }),
    row({ id: 'ours', label: 'demo.noop() in one execute()', value: s.ours.median, unit: 'us', stats: s.ours,
      baseline: 'raw', ratio: vsRaw, target: '<= 1.5x raw', met: vsRaw <= 1.5 }),
    row({ id: 'oursVsPiscina', label: 'demo.noop() vs Piscina', value: s.ours.median, unit: 'us', stats: s.ours,
      baseline: 'piscina', ratio: vsPiscina, target: '<= 0.2x Piscina', met: vsPiscina <= 0.2 }),
    row({ id: 'oursP99', label: 'demo.noop() p99', value: s.ours.p99, unit: 'us', baseline: 'raw p99', ratio: ratio(s.ours.p99, s.raw.p99) }),
    row({ id: 'executePerCall', label: 'one execute() per demo.noop() (informational)', value: s.oursExecutePerCall.median, unit: 'us',
      stats: s.oursExecutePerCall, baseline: 'raw', ratio: ratio(s.oursExecutePerCall.median, s.raw.median) }),
  ], ['Value = median over all calls; spread = min-max of the per-round medians; ratio = ours / baseline (lower is better).']);
});
