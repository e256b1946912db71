// 100 MB of doubles through a call: by copy (demo.sumFloat64(array): structured clone to
// the host, then embind copies it into the wasm heap) against the shared heap (main
// writes straight into the host's memory through manager.view(), then
// demo.sumFloat64At(ptr, n) reads it in place). Same reduction on the pool both ways.
import { loadDemo, newManager, progress, report, reps, row, runSection } from './common.js';
import { ratio, summarize } from './stats.js';

runSection(async () => {
  const megabytes = reps(100, 8);
  const count = Math.floor((megabytes * 1e6) / 8);
  const rounds = reps(5, 2);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = (i % 1000) * 0.5;
  let expected = 0;
  for (let i = 0; i < count; i++) expected += data[i];
  const demo = await loadDemo();
  const manager = newManager({ idleTimeoutMs: 600_000 });
  const copy = [];
  const shared = [];
  const sharedWrite = [];
  let sharedUnavailable = null;
  const check = (sum) => {
    if (Math.abs(sum - expected) > 1e-6 * Math.abs(expected)) throw new Error(`wrong sum ${sum}, expected ${expected}`);
  };
  try {
    for (let round = 0; round < rounds; round++) {
      await manager.execute(async () => {
        let t0 = performance.now();
        check(await demo.sumFloat64(data));
        copy.push(performance.now() - t0);

        if (sharedUnavailable) return;
        t0 = performance.now();
        const pending = demo._malloc(data.byteLength);
        if (typeof pending?.then !== 'function') {
          // Not routed: this ran on main's own instance, whose heap is not the host's.
          demo._free(pending);
          sharedUnavailable = 'demo._malloc() is not routed to the host in this build (it returned a number synchronously, from main\'s own instance), so the shared-heap path cannot be measured';
          progress(sharedUnavailable);
          return;
        }
        const ptr = await pending;
        if (!ptr) throw new Error(`_malloc(${data.byteLength}) failed`);
        try {
          const t1 = performance.now();
          manager.view(Float64Array, ptr, count).set(data);
          sharedWrite.push(performance.now() - t1);
          check(await demo.sumFloat64At(ptr, count));
        } finally {
          await demo._free(ptr);
        }
        shared.push(performance.now() - t0);
      }, { timeoutMs: 120_000 });
      progress(`round ${round + 1}/${rounds}: copy ${copy.at(-1).toFixed(1)} ms, shared heap ${shared.at(-1)?.toFixed(1) ?? 'n/a'} ms`);
    }
  } finally {
    await manager.shutdown();
  }
  const s = { copy: summarize(copy), shared: summarize(shared), write: summarize(sharedWrite) };
  const rows = [
    row({ id: 'copy', label: 'by copy: demo.sumFloat64(array) (baseline)', value: s.copy.median, unit: 'ms', stats: s.copy }),
    row({ id: 'copyThroughput', label: 'by copy, throughput', value: megabytes / (s.copy.median / 1000), unit: 'MB/s' }),
  ];
  if (sharedUnavailable) {
    rows.push(row({ id: 'shared', label: 'shared heap: _malloc + view().set + sumFloat64At + _free', value: null, unit: 'ms',
      target: 'faster than by copy', met: null, skipped: sharedUnavailable }));
    report('transfer', `${megabytes} MB Float64Array (${count.toLocaleString('en-US')} doubles) summed on the pool (${rounds} rounds)`, rows, [`Shared-heap path not measured: ${sharedUnavailable}.`]);
    return;
  }
  report('transfer', `${megabytes} MB Float64Array (${count.toLocaleString('en-US')} doubles) summed on the pool (${rounds} rounds)`, [
    row({ id: 'copy', label: 'by copy: demo.sumFloat64(array) (baseline)', value: s.copy.median, unit: 'ms', stats: s.copy }),
    row({ id: 'shared', label: 'shared heap: _malloc + view().set + sumFloat64At + _free', value: s.shared.median, unit: 'ms', stats: s.shared,
      baseline: 'copy', ratio: ratio(s.shared.median, s.copy.median), target: 'faster than by copy', met: s.shared.median < s.copy.median }),
    row({ id: 'sharedWrite', label: 'of which main writing the view (one memcpy)', value: s.write.median, unit: 'ms', stats: s.write }),
    row({ id: 'copyThroughput', label: 'by copy, throughput', value: megabytes / (s.copy.median / 1000), unit: 'MB/s' }),
    row({ id: 'sharedThroughput', label: 'shared heap, throughput', value: megabytes / (s.shared.median / 1000), unit: 'MB/s' }),
  ], ['Ratio = shared / copy (lower is better). The shared-heap path still copies once (main into the heap); it skips the structured clone and embind\'s copy.']);
});
