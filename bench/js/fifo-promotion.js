// Diagnostic, not a section of bench/run.js: why main keeps its calls in flight in a ring of
// slots (glue/main/pending-calls.js) and not in a Map. Each variant is a fresh process that
// keeps 64 entries in a first-in first-out table (take the oldest, add a new one) for
// --pairs pairs, each entry a small object, after a warm-up, with or without one full GC
// (gc()) just before; printed: the time, the scavenges and the full collections (mark-
// compact) meanwhile. With a Map, one full GC is enough for every later entry to survive
// the scavenges (each rehash leaves the obsolete backing table holding its entries and a
// link to the next table, and one of those tables is now old), so the old generation
// fills and full collections follow one another; with a ring, neither happens.
//
//   node bench/js/fifo-promotion.js [--pairs=3000000]
import { execFileSync } from 'node:child_process';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { numberFlag } from './common.js';

const DEPTH = 64;
const PAIRS = numberFlag('pairs', 3_000_000);
const variant = process.argv.find((a) => a.startsWith('--variant='))?.slice('--variant='.length);

// As main's table was: keyed by an id that only grows, the oldest taken by its id.
function mapTable() {
  const map = new Map();
  let next = 0;
  let oldest = 1;
  return {
    add: (value) => map.set(++next, value),
    take: () => {
      const value = map.get(oldest);
      map.delete(oldest++);
      return value;
    },
  };
}

function ringTable() {
  const slots = new Array(2 * DEPTH).fill(undefined);
  let head = 0;
  let used = 0;
  const mask = slots.length - 1;
  return {
    add: (value) => {
      slots[(head + used++) & mask] = value;
    },
    take: () => {
      const value = slots[head];
      slots[head] = undefined;
      head = (head + 1) & mask;
      used--;
      return value;
    },
  };
}

function churn(table, pairs) {
  for (let i = 0; i < pairs; i++) {
    table.take();
    table.add({ id: i, payload: [i, i + 1, i + 2] });
  }
}

if (variant) {
  const [kind, collect] = variant.split(',');
  const table = kind === 'map' ? mapTable() : ringTable();
  for (let i = 0; i < DEPTH; i++) table.add({ id: i, payload: [] });
  churn(table, PAIRS / 3);
  if (collect === 'gc') globalThis.gc();
  const collections = [];
  const observer = new PerformanceObserver((list) => collections.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  churn(table, PAIRS);
  const ms = performance.now() - t0;
  await new Promise((resolve) => setTimeout(resolve, 100)); // the observer's entries come later
  observer.disconnect();
  const count = (k) => collections.filter((e) => e.detail?.kind === k).length;
  console.log(JSON.stringify({ ms, scavenges: count(constants.NODE_PERFORMANCE_GC_MINOR), full: count(constants.NODE_PERFORMANCE_GC_MAJOR) }));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log(`${DEPTH} entries in a first-in first-out table, ${PAIRS} take/add pairs (a fresh process each)`);
  for (const kind of ['map', 'ring']) {
    for (const collect of ['no gc', 'gc']) {
      const out = execFileSync(process.execPath, ['--expose-gc', self, `--variant=${kind},${collect}`, `--pairs=${PAIRS}`], { encoding: 'utf8' });
      const { ms, scavenges, full } = JSON.parse(out);
      console.log(`${kind.padEnd(4)} ${collect === 'gc' ? 'after one gc()' : 'no gc()       '}: ${ms.toFixed(0).padStart(5)} ms, ${scavenges} scavenges, ${full} full collections`);
    }
  }
}
