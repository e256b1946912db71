// The cost of safety per call: the same export called directly on main, unprotected,
// versus routed through manager.execute() to a host whose crashes cannot take the process
// down; and the work size from which routing costs under 5%.
//
// The export is demo.sortCheck(n, seed): it fills n pseudo-random integers, sorts them with
// parallel_sort and checks the result, so its work grows with n while its arguments and
// result (two ints, a bool) stay the same size: what grows is work, not copying.
// (serialSum/parallelSum would not do: clang turns their loops into a closed formula.)
//
// Direct: an ordinary instance of the demo module on the main thread (`await createDemo()`,
// called outside execute(), so nothing routes it) with its own 2-thread pool
// (initThreadPool(2)): without one, parallel_sort would run serially on main, and the
// comparison would measure parallelism, not routing. Routed: one execute() per call on a
// manager with threads: 2, the whole price of one safe call. The two alternate call by
// call (order swapped every call), so machine noise hits both alike.
import { DEMO_GLUE, loadDemo, newManager, progress, QUICK, report, row, runSection } from './common.js';
import { ratio, summarize } from './stats.js';

const THREADS = 2;
const LIMIT = 1.05; // "routing costs under 5%"
const SIZES = QUICK ? [1e3, 1e4, 1e5, 1e6] : [1e2, 1e3, 1e4, 3e4, 1e5, 3e5, 1e6];
// Samples per size: many for the cheap sizes, at least a few for the 100 ms ones.
const samplesFor = (n) => Math.max(QUICK ? 3 : 10, Math.min(QUICK ? 50 : 400, Math.round((QUICK ? 2e5 : 2e6) / n)));

/** Duration (ms) of one call. */
async function timed(call) {
  const t0 = performance.now();
  const ok = await call();
  const ms = performance.now() - t0;
  if (ok !== true) throw new Error(`sortCheck returned ${ok}`);
  return ms;
}

runSection(async () => {
  const routedDemo = await loadDemo();
  const direct = await (await import(DEMO_GLUE.href)).default();
  direct.initThreadPool(THREADS);
  const manager = newManager({ threads: THREADS, idleTimeoutMs: 600_000 });
  const lanes = {
    direct: (n, seed) => timed(() => direct.sortCheck(n, seed)),
    routed: (n, seed) => timed(() => manager.execute(() => routedDemo.sortCheck(n, seed))),
  };
  const sweep = [];
  try {
    await manager.start();
    for (const n of SIZES) {
      // Warm-up: grows both heaps to this size and warms both paths.
      for (let i = 0; i < 3; i++) for (const run of Object.values(lanes)) await run(n, i);
      const samples = { direct: [], routed: [] };
      const count = samplesFor(n);
      for (let i = 0; i < count; i++) {
        const order = i % 2 ? ['routed', 'direct'] : ['direct', 'routed'];
        for (const name of order) samples[name].push(await lanes[name](n, i));
      }
      const d = summarize(samples.direct);
      const r = summarize(samples.routed);
      sweep.push({ n, direct: d, routed: r, ratio: ratio(r.median, d.median) });
      progress(`n=${n}: direct ${d.median.toFixed(3)} ms, routed ${r.median.toFixed(3)} ms (${ratio(r.median, d.median).toFixed(3)}x, ${count} calls each)`);
    }
  } finally {
    await manager.shutdown(); // the direct instance's pool ends with the process (report() exits)
  }

  // The smallest size from which every larger size in the sweep also stays under the limit.
  let breakEven = null;
  for (let i = sweep.length - 1; i >= 0 && sweep[i].ratio <= LIMIT; i--) breakEven = sweep[i];
  const overheadUs = (sweep[0].routed.median - sweep[0].direct.median) * 1000;
  const rows = [];
  for (const s of sweep) {
    rows.push(
      row({ id: `direct_${s.n}`, label: `direct on main: sortCheck(${s.n})`, value: s.direct.median, unit: 'ms', stats: s.direct }),
      row({ id: `routed_${s.n}`, label: `routed, one execute() per call: sortCheck(${s.n})`, value: s.routed.median, unit: 'ms', stats: s.routed,
        baseline: 'direct', ratio: s.ratio }),
    );
  }
  rows.push(
    row({ id: 'overhead', label: `routing cost at the smallest size (routed - direct, sortCheck(${sweep[0].n}))`, value: overheadUs, unit: 'us' }),
    breakEven
      ? row({ id: 'breakEven', label: `work size from which routing costs under 5%: sortCheck(n) (direct call ${breakEven.direct.median.toFixed(2)} ms there)`,
        value: breakEven.n, unit: 'elements', baseline: 'direct', ratio: breakEven.ratio })
      : row({ id: 'breakEven', label: 'work size from which routing costs under 5%: sortCheck(n)', value: null, unit: 'elements',
        skipped: `routing cost 5% or more up to the largest size, ${sweep.at(-1).n}` }),
  );
  report('safetyCost', `The cost of safety per call: direct on main vs routed through execute() (sortCheck, ${THREADS} pool threads each)`, rows, [
    'Ratio = routed / direct time (lower is better; 1 = safety is free). Direct = an unrouted instance on the main thread with its own pool (a crash there ends the process); routed = manager.execute() per call.',
    `Sizes swept: ${SIZES.join(', ')}; the break-even is the smallest n from which every larger size stays within ${LIMIT}x.`,
  ]);
});
