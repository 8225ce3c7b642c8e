// What `tensorshare top` shows, as plain data: the daemon's Stats (resident
// models, leases, bytes saved by sharing) and a gateway's /metrics sampled
// twice (instances per function, request and failure rates, mean latency over
// the interval). Either source may be absent; the command decides which it needs.
import type { DaemonView } from '../client/daemon-view.js';
import { TensorshareError } from '../errors.js';
import { parsePrometheusText, type Sample, sumBy } from './prometheus-text.js';

export { type DaemonView, daemonView } from '../client/daemon-view.js';

export interface FunctionView {
  name: string;
  instances: number;
  requestsPerS: number;
  failuresPerS: number;
  /** Mean latency of the requests answered in the interval; null when none were. */
  meanLatencyMs: number | null;
  requestsTotal: number;
  coldStarts: number;
}

export interface GatewayView {
  url: string;
  functions: FunctionView[];
  requestsPerS: number;
  storeLogicalBytes: number;
  storePhysicalBytes: number;
  bytesSavedBySharing: number;
}

export interface TopSnapshot {
  at: string;
  intervalS: number;
  daemon: DaemonView | null;
  gateway: GatewayView | null;
}

export async function scrapeMetrics(url: string, timeoutMs = 5_000): Promise<Sample[]> {
  const target = new URL('/metrics', url);
  let res: Response;
  try {
    res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new TensorshareError('ERR_UNAVAILABLE', `cannot read ${target}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new TensorshareError('ERR_UNAVAILABLE', `${target} answered ${res.status}`);
  return parsePrometheusText(await res.text());
}

const P = 'tensorshare_';

/** The gateway's state from two scrapes `intervalS` apart (rates are over that interval). */
export function gatewayView(url: string, before: Sample[], after: Sample[], intervalS: number): GatewayView {
  const total = (s: Sample[], name: string) => sumBy(s, `${P}${name}`, 'function');
  const reqA = total(after, 'requests_total');
  const reqB = total(before, 'requests_total');
  const failA = total(after, 'request_failures_total');
  const failB = total(before, 'request_failures_total');
  const sumA = total(after, 'request_duration_seconds_sum');
  const sumB = total(before, 'request_duration_seconds_sum');
  const cntA = total(after, 'request_duration_seconds_count');
  const cntB = total(before, 'request_duration_seconds_count');
  const instances = total(after, 'instances');
  const coldStarts = total(after, 'cold_starts_total');
  const names = new Set([...instances.keys(), ...reqA.keys()]);
  names.delete('_unknown');
  const rate = (a: Map<string, number>, b: Map<string, number>, k: string) =>
    intervalS > 0 ? Math.max(0, (a.get(k) ?? 0) - (b.get(k) ?? 0)) / intervalS : 0;
  const functions = [...names].sort().map((name): FunctionView => {
    const answered = (cntA.get(name) ?? 0) - (cntB.get(name) ?? 0);
    return {
      name,
      instances: instances.get(name) ?? 0,
      requestsPerS: rate(reqA, reqB, name),
      failuresPerS: rate(failA, failB, name),
      meanLatencyMs: answered > 0 ? (((sumA.get(name) ?? 0) - (sumB.get(name) ?? 0)) / answered) * 1000 : null,
      requestsTotal: reqA.get(name) ?? 0,
      coldStarts: coldStarts.get(name) ?? 0,
    };
  });
  const store = sumBy(after, `${P}store_bytes`, 'kind');
  return {
    url,
    functions,
    requestsPerS: [...reqA.keys()].reduce((a, k) => a + rate(reqA, reqB, k), 0),
    storeLogicalBytes: store.get('logical') ?? 0,
    storePhysicalBytes: store.get('physical') ?? 0,
    bytesSavedBySharing: sumBy(after, `${P}bytes_saved_by_sharing`, '').get('') ?? 0,
  };
}
