// Hang detection: a pool thread spins forever (demo.fault('hang', 'pool', 0)); the
// watchdog sees neither a heartbeat nor pool progress for heartbeatTimeoutMs and rejects
// with WasmHangError. Figure: time from sending the call to the rejection, against the
// configured timeout (the floor: detection can never beat it).
import { loadDemo, newManager, progress, report, reps, row, runSection } from './common.js';
import { ratio, summarize } from './stats.js';

const TIMEOUT_MS = 300;

runSection(async () => {
  const demo = await loadDemo();
  const count = reps(6, 2);
  const manager = newManager({ heartbeatTimeoutMs: TIMEOUT_MS, heartbeatIntervalMs: 50, idleTimeoutMs: 600_000 });
  const samples = [];
  try {
    for (let i = 0; i < count; i++) {
      let elapsed = NaN;
      let code;
      // On a running pool: after each hang the host is a new one, whose threads start while
      // it already takes calls, and a call made before they run gets the start's allowance
      // (ARCHITECTURE.md, "Messages, in order", step 5).
      await manager.start();
      await manager.execute(async () => {
        await demo.noop();
        const t0 = performance.now();
        try {
          await demo.fault('hang', 'pool', 0);
        } catch (error) {
          elapsed = performance.now() - t0;
          code = error.code;
        }
      }, { timeoutMs: 10 * TIMEOUT_MS + 5000 }).catch((error) => {
        code ??= error.code;
      });
      if (code !== 'ERR_WASM_HANG') throw new Error(`fault('hang') rejected with ${code}, expected ERR_WASM_HANG`);
      samples.push(elapsed);
    }
  } finally {
    await manager.shutdown();
  }
  const s = summarize(samples);
  progress(`hang: median ${s.median.toFixed(1)} ms over ${s.n}`);
  report('hangLatency', `Hang detection (heartbeatTimeoutMs ${TIMEOUT_MS}, heartbeatIntervalMs 50)`, [
    row({ id: 'timeout', label: 'heartbeatTimeoutMs (the floor)', value: TIMEOUT_MS, unit: 'ms' }),
    row({ id: 'ours', label: "fault('hang', 'pool') to WasmHangError", value: s.median, unit: 'ms', stats: s,
      baseline: 'timeout', ratio: ratio(s.median, TIMEOUT_MS), target: 'timeout + one watchdog tick', met: s.median <= TIMEOUT_MS * 1.25 + 20 }),
  ], ['The watchdog checks every min(heartbeatIntervalMs, heartbeatTimeoutMs/4) ms, so detection lands in [timeout, timeout + tick].']);
});
