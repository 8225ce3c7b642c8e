// Small number helpers of the scheduling benchmark's report: a median that
// tolerates configurations that never sustained a rate, and fixed-width
// printing where a missing figure reads '-'.
import { median as strictMedian } from '../stats.js';

/** Median; NaN for no values (a configuration that never sustained a rate). */
export function median(xs: readonly number[]): number {
  const ok = xs.filter((x) => Number.isFinite(x));
  return ok.length ? strictMedian(ok) : NaN;
}

/** The element of `xs` closest to `v`. */
export function nearest(xs: number[], v: number): number {
  return xs.reduce((best, x) => (Math.abs(x - v) < Math.abs(best - v) ? x : best), xs[0] ?? v);
}

export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
export const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
