// Online latency profile: an EWMA of measured service time per (function,
// batch size). Predictions for sizes never seen interpolate between the
// nearest measured sizes (or scale the nearest one linearly beyond them);
// functions never seen use their configured hint, else the mean of all
// functions' measurements, else a fixed prior.

export interface ProfileConfig {
  /** EWMA weight of a new sample. Default 0.2. */
  alpha?: number;
  /** Prediction for a function with no measurements and no hint, ms. Default 10. */
  priorMs?: number;
}

export interface LatencyProfile {
  /** fn -> batch size (items) -> EWMA of service time, ms. */
  readonly byFn: Map<string, Map<number, number>>;
  readonly alpha: number;
  readonly priorMs: number;
}

/** An exponentially weighted moving average after `sample`: the sample itself when there was none. */
export function ewma(was: number | undefined, sample: number, alpha: number): number {
  return was === undefined ? sample : was + alpha * (sample - was);
}

export function createProfile(config: ProfileConfig = {}): LatencyProfile {
  return { byFn: new Map(), alpha: config.alpha ?? 0.2, priorMs: config.priorMs ?? 10 };
}

export function observe(p: LatencyProfile, fn: string, items: number, serviceMs: number): void {
  let sizes = p.byFn.get(fn);
  if (!sizes) {
    sizes = new Map();
    p.byFn.set(fn, sizes);
  }
  sizes.set(items, ewma(sizes.get(items), serviceMs, p.alpha));
}

/** Predicted service time of a batch of `items` for `fn`, ms. `hintMs` is the function's configured guess for one batch of 1. */
export function predict(p: LatencyProfile, fn: string, items: number, hintMs?: number): number {
  const sizes = p.byFn.get(fn);
  if (!sizes || sizes.size === 0) {
    if (hintMs !== undefined) return hintMs * Math.max(1, items);
    let sum = 0;
    let n = 0;
    for (const m of p.byFn.values())
      for (const v of m.values()) {
        sum += v;
        n++;
      }
    return n > 0 ? sum / n : p.priorMs;
  }
  const exact = sizes.get(items);
  if (exact !== undefined) return exact;
  let lo: number | undefined;
  let hi: number | undefined;
  for (const s of sizes.keys()) {
    if (s < items && (lo === undefined || s > lo)) lo = s;
    if (s > items && (hi === undefined || s < hi)) hi = s;
  }
  if (lo !== undefined && hi !== undefined) {
    const a = sizes.get(lo)!;
    const b = sizes.get(hi)!;
    return a + ((b - a) * (items - lo)) / (hi - lo);
  }
  const near = (lo ?? hi)!;
  return (sizes.get(near)! * items) / near;
}
