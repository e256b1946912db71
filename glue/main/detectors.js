// How a host's death is noticed. Each detector is one source of evidence; a session acts
// on the ones it was given:
//   thread-ports  a dying thread's own notice on its MessagePort (milliseconds)
//   host-report   the host's report of a fault on its own thread, or that a thread died
//                 while it waited
//   worker-exit   the host worker's 'error' or 'exit' event
//   watchdog      no heartbeat and no progress for the hang timeout
// The default uses all four. 'heartbeat-only' is the original design (the watchdog alone),
// kept as a benchmark baseline: with host-report off, a host that says a thread died is
// treated as silent from then on, as a host stuck waiting for that thread would be.
export const DETECTORS = Object.freeze(['thread-ports', 'host-report', 'worker-exit', 'watchdog']);

export const CRASH_DETECTION_MODES = Object.freeze({
  fast: DETECTORS,
  'heartbeat-only': Object.freeze(['watchdog']),
});

/** The detectors of an options.crashDetection mode, as a Set. */
export function detectorsFor(mode) {
  const detectors = CRASH_DETECTION_MODES[mode];
  if (!detectors) throw new RangeError(`unknown crash detection mode ${String(mode)}`);
  return new Set(detectors);
}
