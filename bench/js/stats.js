// Summary statistics for benchmark samples. Every figure the suite reports is a median
// with its spread; nothing here knows what is being measured.

/** Sorted copy of the finite samples. */
function sorted(samples) {
  return Float64Array.from(samples.filter(Number.isFinite)).sort();
}

/** Quantile q in [0, 1] by linear interpolation between the closest ranks. */
export function quantile(samples, q) {
  const s = sorted(samples);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (samples) => quantile(samples, 0.5);
export const p99 = (samples) => quantile(samples, 0.99);

/** { n, median, p99, min, max, mean } of the samples. */
export function summarize(samples) {
  const s = sorted(samples);
  if (s.length === 0) return { n: 0, median: NaN, p99: NaN, min: NaN, max: NaN, mean: NaN };
  let total = 0;
  for (const x of s) total += x;
  return { n: s.length, median: quantile(s, 0.5), p99: quantile(s, 0.99), min: s[0], max: s[s.length - 1], mean: total / s.length };
}

/** a / b, or NaN when either is missing. */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN;
}

/** A number with a sensible count of significant digits for a table. */
export function fmt(x, digits = 3) {
  if (x === undefined || x === null) return '';
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return 'n/a';
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  if (abs === 0) return '0';
  return Number(x.toPrecision(digits)).toString();
}

/** "min–max" of a summary, formatted. */
export function spread(summary) {
  if (!summary || !summary.n) return '';
  return `${fmt(summary.min)}–${fmt(summary.max)} (n=${summary.n})`;
}
