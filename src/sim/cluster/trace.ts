// Invocation traces shaped like public serverless traces (Shahrad et al.,
// "Serverless in the Wild", USENIX ATC 2020, the Azure Functions 2019 trace):
// - popularity is heavy-tailed: per-function rates are log-normal with a wide
//   spread (the trace's daily invocation counts span about eight orders of
//   magnitude; a small share of functions makes almost all invocations);
// - arrivals follow a diurnal cycle (one sine period per day);
// - a share of functions is bursty: a two-state on/off modulated Poisson
//   process whose "on" rate is many times its "off" rate (inter-arrival CV > 1,
//   as for most functions in the trace).
// Each function is a Poisson process whose rate changes with the day and its
// burst state; arrivals of all functions merge through one heap, so a trace
// of any length streams in fixed memory, one O(log F) step per invocation.
import { TensorshareError } from '../../errors.js';
import { Xoshiro128 } from '../../prng.js';
import { createTimeHeap } from './heap.js';

export interface TraceOptions {
  functions: number;
  /** Expected number of invocations over the whole duration. */
  invocations: number;
  durationMs: number;
  seed: string;
  /** Standard deviation of ln(rate) across functions (default 2.5). */
  popularitySigma?: number;
  /** Peak-to-mean amplitude of the diurnal sine, in [0, 1) (default 0.5: peak 3x trough). */
  diurnalAmplitude?: number;
  /** Share of bursty functions (default 0.3). */
  burstyFraction?: number;
  /** Mean on / off durations of a bursty function, ms (default 2 min / 20 min). */
  burstOnMs?: number;
  burstOffMs?: number;
  /** On-rate multiple of a bursty function's mean rate (default 8). */
  burstFactor?: number;
}

export interface TraceSource {
  /** Per-function mean rates, invocations per ms. */
  readonly rates: Float64Array;
  /**
   * Fills times[0..k) and fns[0..k) with the next arrivals in time order;
   * returns k (0 at the end of the trace).
   */
  next(times: Float64Array, fns: Int32Array): number;
}

const DAY_MS = 86_400_000;

export function createTrace(opts: TraceOptions): TraceSource {
  const F = opts.functions;
  if (!Number.isInteger(F) || F < 1)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `functions must be a positive integer, got ${F}`);
  if (!(opts.invocations > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `invocations must be positive, got ${opts.invocations}`);
  if (!(opts.durationMs > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `duration must be positive, got ${opts.durationMs} ms`);
  const sigma = opts.popularitySigma ?? 2.5;
  const amp = opts.diurnalAmplitude ?? 0.5;
  if (!(amp >= 0 && amp < 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `diurnal amplitude must be in [0, 1), got ${amp}`);
  const burstyFraction = opts.burstyFraction ?? 0.3;
  const onMs = opts.burstOnMs ?? 120_000;
  const offMs = opts.burstOffMs ?? 1_200_000;
  const factor = opts.burstFactor ?? 8;
  const pOn = onMs / (onMs + offMs);
  if (factor * pOn > 1)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `burst factor ${factor} with on ${onMs} ms / off ${offMs} ms exceeds the mean rate (factor x on share must be <= 1)`,
    );
  // Off rate so that the long-run mean stays the function's mean rate.
  const offFactor = (1 - factor * pOn) / (1 - pOn);
  const rng = new Xoshiro128(`${opts.seed}:trace`);
  const u = () => rng.nextFloat() || 2 ** -32;
  const exp = (mean: number) => -Math.log(u()) * mean;

  const rates = new Float64Array(F);
  let sum = 0;
  for (let f = 0; f < F; f++) {
    // Box-Muller: one standard normal per function.
    const z = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * rng.nextFloat());
    rates[f] = Math.exp(sigma * z);
    sum += rates[f]!;
  }
  const total = opts.invocations / opts.durationMs;
  for (let f = 0; f < F; f++) rates[f] = (rates[f]! / sum) * total;
  const bursty = new Uint8Array(F);
  const on = new Uint8Array(F);
  const switchAt = new Float64Array(F);
  const phase = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    bursty[f] = rng.nextFloat() < burstyFraction ? 1 : 0;
    // Phases vary a little across functions (regions, tenants), around one peak.
    phase[f] = (rng.nextFloat() - 0.5) * 0.25 * DAY_MS;
    if (bursty[f]) {
      on[f] = rng.nextFloat() < pOn ? 1 : 0;
      switchAt[f] = exp(on[f] ? onMs : offMs);
    } else switchAt[f] = Number.POSITIVE_INFINITY;
  }
  const stateFactor = (f: number) => (bursty[f] ? (on[f] ? factor : offFactor) : 1);
  const heap = createTimeHeap(F);

  /** Next arrival of f after t: thinning against the diurnal peak, exact across burst switches (memoryless). */
  function nextArrival(f: number, t: number): number {
    const peak = 1 + amp;
    for (;;) {
      const rate = rates[f]! * stateFactor(f) * peak;
      const cand = rate > 0 ? t + exp(1 / rate) : Number.POSITIVE_INFINITY;
      if (cand >= switchAt[f]!) {
        t = switchAt[f]!;
        on[f] = on[f] ? 0 : 1;
        switchAt[f] = t + exp(on[f] ? onMs : offMs);
        continue;
      }
      t = cand;
      if (t >= opts.durationMs) return Number.POSITIVE_INFINITY;
      const d = 1 + amp * Math.sin((2 * Math.PI * (t - phase[f]!)) / DAY_MS - Math.PI / 2);
      if (rng.nextFloat() * peak < d) return t;
    }
  }

  for (let f = 0; f < F; f++) {
    const t = nextArrival(f, 0);
    if (t < Number.POSITIVE_INFINITY) heap.push(t, f);
  }
  return {
    rates,
    next(times, fns) {
      let k = 0;
      const cap = Math.min(times.length, fns.length);
      while (k < cap && heap.size > 0) {
        const t = heap.peekTime();
        const f = heap.peekId();
        heap.pop();
        times[k] = t;
        fns[k] = f;
        k++;
        const n = nextArrival(f, t);
        if (n < Number.POSITIVE_INFINITY) heap.push(n, f);
      }
      return k;
    },
  };
}
