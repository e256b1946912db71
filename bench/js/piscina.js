// Piscina, the worker pool a Node user would reach for instead, as every section sets it
// up: one task file, the installed version (for the labels, so a table never names a
// version that did not run), and the options its users would choose for each use.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Piscina } from 'piscina';

const require = createRequire(import.meta.url);
export const PISCINA_VERSION = JSON.parse(readFileSync(join(dirname(require.resolve('piscina')), '..', 'package.json'), 'utf8')).version;

const EMPTY_TASK = new URL('./workers/piscina-empty.cjs', import.meta.url).href;

/**
 * A Piscina pool running the empty task on exactly `threads` workers (started eagerly).
 * `concurrentTasksPerWorker` is how many tasks Piscina hands one worker before the first
 * returns: 1 (its default) for one call at a time, the pipeline depth for calls in flight,
 * which is how its users configure it for pipelined work.
 */
export function emptyTaskPool(threads, { concurrentTasksPerWorker = 1 } = {}) {
  return new Piscina({ filename: EMPTY_TASK, minThreads: threads, maxThreads: threads, concurrentTasksPerWorker });
}

/** A short label: "Piscina 5.3.2, empty task, 2 workers[, N tasks per worker]". */
export function piscinaLabel(threads, concurrentTasksPerWorker = 1) {
  const perWorker = concurrentTasksPerWorker > 1 ? `, concurrentTasksPerWorker ${concurrentTasksPerWorker}` : '';
  return `Piscina ${PISCINA_VERSION}, empty task, ${threads} worker${threads > 1 ? 's' : ''}${perWorker}`;
}
