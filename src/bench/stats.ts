// Descriptive statistics for benchmark samples. Pure functions over arrays of
// finite numbers; an empty or non-finite sample is ERR_INVALID_ARGUMENT.
// Percentiles interpolate linearly between order statistics (Hyndman-Fan
// type 7, the default of R, NumPy and Excel's PERCENTILE.INC).
import { TensorshareError } from '../errors.js';

function checked(values: readonly number[], what: string): number[] {
  if (values.length === 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} of an empty sample`);
  for (const v of values) {
    if (!Number.isFinite(v))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: sample holds a non-finite value (${v})`);
  }
  return [...values];
}

function sortedCopy(values: readonly number[], what: string): number[] {
  return checked(values, what).sort((a, b) => a - b);
}

/** p-th percentile (0..100) of an already sorted sample. */
function percentileSorted(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * (p / 100);
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (h - lo);
}

export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `percentile must be within 0..100, got ${p}`);
  return percentileSorted(sortedCopy(values, 'percentile'), p);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  const v = checked(values, 'mean');
  return v.reduce((a, b) => a + b, 0) / v.length;
}

export function min(values: readonly number[]): number {
  return checked(values, 'min').reduce((a, b) => Math.min(b, a));
}

export function max(values: readonly number[]): number {
  return checked(values, 'max').reduce((a, b) => Math.max(b, a));
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function stddev(values: readonly number[]): number {
  const v = checked(values, 'stddev');
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1));
}

/** Interquartile range p75 - p25. */
export function iqr(values: readonly number[]): number {
  const s = sortedCopy(values, 'iqr');
  return percentileSorted(s, 75) - percentileSorted(s, 25);
}

/** Median absolute deviation from the median (unscaled). */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

export interface Summary {
  n: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  p50: number;
  p95: number;
  p99: number;
  stddev: number;
  iqr: number;
  mad: number;
}

/** All of the above in one pass over one sorted copy. */
export function summarize(values: readonly number[]): Summary {
  const s = sortedCopy(values, 'summary');
  const p50 = percentileSorted(s, 50);
  return {
    n: s.length,
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: mean(s),
    median: p50,
    p50,
    p95: percentileSorted(s, 95),
    p99: percentileSorted(s, 99),
    stddev: stddev(s),
    iqr: percentileSorted(s, 75) - percentileSorted(s, 25),
    mad: median(s.map((v) => Math.abs(v - p50))),
  };
}

/** a / b; ERR_INVALID_ARGUMENT when b is 0 or either is not finite. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `ratio ${a} / ${b} is undefined`);
  }
  return a / b;
}

/** Element-wise a[i] / b[i] of two equally long samples. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `ratios of samples of different length (${a.length} vs ${b.length})`,
    );
  return a.map((x, i) => ratio(x, b[i]!));
}

/** Geometric mean of positive values: the right average of ratios. */
export function geomean(values: readonly number[]): number {
  const v = checked(values, 'geomean');
  for (const x of v)
    if (x <= 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `geomean needs positive values, got ${x}`);
  return Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
}

/** Relative change (b - a) / a, e.g. -0.75 for "75% less". */
export function relativeChange(a: number, b: number): number {
  return ratio(b - a, a);
}
