import { CRASH_DETECTION_MODES } from './detectors.js';

// Option checking: a bad option is a RangeError/TypeError that names the option, the
// value and what is allowed, thrown before anything starts.
// kMaxWorkers in src/wasmpool/config.hpp (the progress slots are sized by it); checked
// against runtimeInfo().progress.workers by tests/js/layout.test.js.
export const MAX_THREADS = 64;
const MAX_EXTRA_THREADS = 1024;
const MAX_HOSTS = 64;

const DEFAULTS = Object.freeze({
  heartbeatIntervalMs: 250,
  heartbeatTimeoutMs: 5000,
  idleTimeoutMs: 1000,
  maxExtraThreads: 64,
  executesPerHostWithSeveral: 4,
});

const KNOWN = new Set([
  'module', 'wasm', 'threads', 'heartbeatIntervalMs', 'heartbeatTimeoutMs', 'idleTimeoutMs', 'log', 'crashDetection',
  'standby', 'maxExtraThreads', 'hosts', 'executesPerHost', 'maxQueue', 'restart',
]);
// How a host is replaced after a crash (docs/ARCHITECTURE.md, "Warm restart").
const RESTART_MODES = ['warm', 'cold'];
const CRASH_DETECTION = Object.keys(CRASH_DETECTION_MODES);

function integer(name, value, min, max) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`options.${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function validateOptions(options, defaultThreads) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('new ThreadPoolManager(options) needs an options object, e.g. { module, threads }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new RangeError(`unknown option ${JSON.stringify(key)}; known options: ${[...KNOWN].join(', ')}`);
    }
  }
  const { module, wasm, log } = options;
  // No module: a host for run() jobs only.
  if (module !== undefined && !(module instanceof URL) && typeof module !== 'string') {
    throw new TypeError('options.module must be the path or file: URL of Emscripten glue (patched for execute(), or ' +
      'any glue for run() jobs), or left out for a host of run() jobs only');
  }
  if (wasm !== undefined && !(wasm instanceof URL) && typeof wasm !== 'string') {
    throw new TypeError('options.wasm must be the path or file: URL of the .wasm file');
  }
  if (wasm !== undefined && module === undefined) {
    throw new TypeError('options.wasm is the .wasm of options.module; give the module too, or neither');
  }
  if (log !== undefined && log !== false && typeof log !== 'function') {
    throw new TypeError('options.log must be a function (entry) => void, or false to drop logs');
  }
  const threads = integer('threads', options.threads ?? Math.min(defaultThreads, MAX_THREADS), 1, MAX_THREADS);
  const heartbeatIntervalMs = integer('heartbeatIntervalMs', options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs, 1, 60_000);
  const heartbeatTimeoutMs = integer('heartbeatTimeoutMs', options.heartbeatTimeoutMs ?? DEFAULTS.heartbeatTimeoutMs, 10, 3_600_000);
  if (heartbeatTimeoutMs <= heartbeatIntervalMs) {
    throw new RangeError(
      `options.heartbeatTimeoutMs (${heartbeatTimeoutMs}) must be greater than options.heartbeatIntervalMs (${heartbeatIntervalMs})`,
    );
  }
  const crashDetection = options.crashDetection ?? 'fast';
  if (!CRASH_DETECTION.includes(crashDetection)) {
    throw new RangeError(`options.crashDetection must be one of ${CRASH_DETECTION.join(', ')}, got ${String(crashDetection)}`);
  }
  const standby = options.standby ?? false;
  if (typeof standby !== 'boolean') throw new TypeError(`options.standby must be a boolean, got ${typeof standby}`);
  const restart = options.restart ?? 'warm';
  if (!RESTART_MODES.includes(restart)) {
    throw new RangeError(`options.restart must be one of ${RESTART_MODES.join(', ')}, got ${String(restart)}`);
  }
  const idleTimeoutMs = integer('idleTimeoutMs', options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs, 0, 2 ** 31 - 1);
  const maxExtraThreads = integer('maxExtraThreads', options.maxExtraThreads ?? DEFAULTS.maxExtraThreads, 0, MAX_EXTRA_THREADS);
  const hosts = integer('hosts', options.hosts ?? 1, 1, MAX_HOSTS);
  // One host: executes share it, their calls queued in the host (the behaviour before
  // `hosts` existed). Several: a few executes per host at a time, the rest wait on main for
  // whichever host frees first (Piscina's concurrentTasksPerWorker). A few, not one: a
  // host with its next call already queued runs it without sleeping in between, where
  // with one place every call paid a wake-up of the host and of main (serve-load.js, 2
  // hosts of 2 threads: ~2400 -> ~3400 req/s from 1 to 4 places); a host that stops
  // answering takes no more (dispatcher.js, `stalled`).
  const executesPerHost = countOrInfinity('executesPerHost', options.executesPerHost ??
    (hosts === 1 ? Infinity : DEFAULTS.executesPerHostWithSeveral), 1);
  const maxQueue = options.maxQueue === 'auto' ? (hosts * threads) ** 2 : countOrInfinity('maxQueue', options.maxQueue ?? Infinity, 0);
  return Object.freeze({ module, wasm, threads, heartbeatIntervalMs, heartbeatTimeoutMs, idleTimeoutMs, log, crashDetection,
    standby, maxExtraThreads, hosts, executesPerHost, maxQueue, restart });
}

function countOrInfinity(name, value, min) {
  if (value === Infinity) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`options.${name} must be an integer of at least ${min}, or Infinity${name === 'maxQueue' ? " or 'auto'" : ''}, got ${String(value)}`);
  }
  return value;
}

export function validateExecuteOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('execute(fn, options): options must be an object');
  }
  const { signal, timeoutMs } = options;
  for (const key of Object.keys(options)) {
    if (!EXECUTE_OPTIONS.includes(key)) {
      throw new RangeError(`unknown execute() option ${JSON.stringify(key)}; known options: ${EXECUTE_OPTIONS.join(', ')}`);
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('execute() option `signal` must be an AbortSignal');
  }
  if (timeoutMs !== undefined) integer('timeoutMs', timeoutMs, 1, 2 ** 31 - 1);
  return { signal, timeoutMs, hangTimeoutMs: hangTimeout(options.hangTimeoutMs) };
}

const EXECUTE_OPTIONS = ['signal', 'timeoutMs', 'hangTimeoutMs'];

// execute()'s hangTimeoutMs: how long the calls of this execute may run without progress
// or heartbeat; Infinity or false turns hang detection off for them (foreign code that
// cannot report progress). undefined: the manager's heartbeatTimeoutMs.
function hangTimeout(value) {
  if (value === undefined) return undefined;
  if (value === false || value === Infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 10 || value > 2 ** 31 - 1) {
    throw new RangeError(`execute() option hangTimeoutMs must be an integer from 10 to ${2 ** 31 - 1}, Infinity or false, got ${String(value)}`);
  }
  return value;
}

export { DEFAULTS };
