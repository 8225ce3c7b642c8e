// Reading the gateway's Prometheus registry in process: counters and gauges
// summed by one label, histograms as bucket counts per label value, and
// quantiles over a window (the difference of two reads), interpolated inside
// a bucket as Prometheus' histogram_quantile does.
import type { Registry } from 'prom-client';

/** Cumulative counts per upper bound, ascending; the last bound is Infinity. */
export interface Buckets {
  le: number[];
  counts: number[];
}

/** The buckets of histogram `name`, summed over every label but `by`; empty when it is not registered. */
export async function bucketsBy(registry: Registry, name: string, by: string): Promise<Map<string, Buckets>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return new Map();
  const { values } = (await metric.get()) as {
    values: { labels: Record<string, unknown>; value: number; metricName?: string }[];
  };
  const acc = new Map<string, Map<number, number>>();
  for (const v of values) {
    if (v.metricName !== `${name}_bucket`) continue;
    const key = String(v.labels[by] ?? '');
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
    const m = acc.get(key) ?? new Map<number, number>();
    m.set(le, (m.get(le) ?? 0) + v.value);
    acc.set(key, m);
  }
  const out = new Map<string, Buckets>();
  for (const [key, m] of acc) {
    const le = [...m.keys()].sort((a, b) => a - b);
    out.set(key, { le, counts: le.map((x) => m.get(x)!) });
  }
  return out;
}

/** `now` less `before` (what was observed between the two reads); `now` when there was no earlier read. */
export function since(now: Buckets, before: Buckets | undefined): Buckets {
  if (!before || before.le.length !== now.le.length) return now;
  return { le: now.le, counts: now.counts.map((c, i) => c - (before.counts[i] ?? 0)) };
}

/** Observations in `b`. */
export const total = (b: Buckets): number => b.counts[b.counts.length - 1] ?? 0;

/** The q-quantile (0..1) of `b`; null when it holds no observation. Past the last finite bound: that bound. */
export function quantile(q: number, b: Buckets): number | null {
  const n = total(b);
  if (n <= 0) return null;
  const rank = q * n;
  for (let i = 0; i < b.le.length; i++) {
    const c = b.counts[i]!;
    if (c < rank) continue;
    const upper = b.le[i]!;
    const lower = i === 0 ? 0 : b.le[i - 1]!;
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : b.counts[i - 1]!;
    return c === below ? upper : lower + ((upper - lower) * (rank - below)) / (c - below);
  }
  return b.le[b.le.length - 2] ?? null;
}

/** Per bucket (not cumulative): observations with a value up to `le` and above the previous bound. */
export function perBucket(b: Buckets): { le: number; count: number }[] {
  return b.le.map((le, i) => ({ le, count: b.counts[i]! - (i === 0 ? 0 : b.counts[i - 1]!) }));
}

/** Counter or gauge `name` summed over every label but `by` ('' for an unlabelled one); empty when it is not registered. */
export async function sumBy(registry: Registry, name: string, by: string): Promise<Map<string, number>> {
  const metric = registry.getSingleMetric(name);
  const out = new Map<string, number>();
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    const key = String(v.labels[by] ?? '');
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}
