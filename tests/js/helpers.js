// Shared fixtures for the runtime tests: the demo module, managers that are always shut
// down, an event-loop lag probe, and the process's OS thread count.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ThreadPoolManager } from '../../glue/index.js';

export const DEMO_GLUE = new URL('../../build/wasm/src/demo/demo.mjs', import.meta.url);
export const DEMO_GLUE_PATH = fileURLToPath(DEMO_GLUE);

let demoPromise;
/** The ordinary main-thread instance of the demo module (direct calls, no pool). */
export function loadDemo() {
  demoPromise ??= import(DEMO_GLUE.href).then((m) => m.default());
  return demoPromise;
}

/**
 * A module of tests/modules: its glue path, its ordinary instance on this thread (loaded
 * once), and managers for it that `t.after` shuts down.
 */
export function testModule(name) {
  const glue = fileURLToPath(new URL(`../../build/wasm/tests/modules/${name}.mjs`, import.meta.url));
  let instance;
  return {
    glue,
    load: () => (instance ??= import(glue).then((m) => m.default())),
    manager(t, options = {}) {
      const manager = new ThreadPoolManager({ module: glue, threads: 2, log: false, ...options });
      t.after(() => manager.shutdown());
      return manager;
    },
  };
}

/** A manager for the demo module; `t.after` shuts it down. */
export function newManager(t, options = {}) {
  const manager = new ThreadPoolManager({ module: DEMO_GLUE, threads: 2, log: false, ...options });
  t.after(() => manager.shutdown());
  return manager;
}

/** OS threads of this process (Node worker threads are OS threads). */
export function osThreadCount() {
  return readdirSync('/proc/self/task').length;
}

/**
 * Waits until `condition()` holds, polling every 5 ms; fails the test with `what` when
 * `timeoutMs` passes first. For synchronising on observable state, never on a fixed sleep.
 */
export async function waitFor(condition, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the OS thread count drops to at most `target`, or the timeout passes. */
export async function waitForThreadCount(target, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (osThreadCount() > target && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return osThreadCount();
}

/**
 * Measures main's event-loop responsiveness while `work` runs: the longest delay of a
 * 5 ms timer (ms). A blocked main thread shows up as a delay of the fault's duration.
 */
export async function measureLag(work) {
  let maxGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last - 5);
    last = now;
  }, 5);
  try {
    const result = await work();
    return { result, maxLagMs: maxGap };
  } finally {
    clearInterval(ticker);
  }
}

/**
 * Every call the manager sent was answered exactly once: none left pending on a host that
 * died, none counted twice. A call handed to a replacement host counts once, with the
 * outcome it had there.
 */
export function assertEveryCallAnswered(manager) {
  const { calls, completed, failed } = manager.stats();
  assert.equal(completed + failed, calls, `every call answered once: ${calls} sent, ${completed} completed, ${failed} failed`);
}

/**
 * Counts the outcomes of `promise` through callbacks attached now, before any fault, without
 * awaiting it: read after everything is quiet, `{ resolved: 0, rejected: 0 }` is a call left
 * pending. (A Promise settles at most once; what can be observed twice is a report: count
 * the manager's 'crash' events and stats() for that.) `settled` is their sum, `promise`
 * resolves once it settled, either way.
 */
export function countOutcomes(promise) {
  const outcomes = {
    resolved: 0,
    rejected: 0,
    value: undefined,
    error: undefined,
    get settled() {
      return this.resolved + this.rejected;
    },
  };
  outcomes.promise = promise.then(
    (value) => {
      outcomes.resolved++;
      outcomes.value = value;
    },
    (error) => {
      outcomes.rejected++;
      outcomes.error = error;
    },
  );
  return outcomes;
}

/** Wraps a promise so the test can read its outcome (`value` or `error`) and whether it settled. */
export const track = countOutcomes;

/**
 * Waits until a manager is quiet after a fault: its replacement host is ready (`restarted`,
 * a once(manager, 'restart') taken before the fault), then a few more event-loop turns, so
 * that anything the failed host still had to say has been said.
 */
export async function quietAfterRestart(restarted) {
  await holdingLoop(restarted);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Awaits `promise` while holding the event loop open: an idle pool is unref'd by design,
 * so a test waiting for an event from it (an idle-time crash, 'idle') must keep the
 * process alive itself.
 */
export async function holdingLoop(promise) {
  const timer = setInterval(() => {}, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}
