// Concurrency-based scaling decisions in the spirit of Knative's KPA. Pure:
// state in, state and decision out; time comes from the caller.
//
// - Samples: average concurrency (in flight + queued) over an interval.
// - desired = ceil(average concurrency / targetConcurrency), over the stable
//   window (default 60 s) normally, over the panic window (6 s) in panic.
// - Panic starts when panic-window concurrency >= panicThreshold x current
//   capacity (ready instances x target); while panicking the count follows
//   the panic window up and never goes down. Panic ends once a stable window
//   has passed without the threshold being crossed.
// - Scale-down is at most by maxScaleDownRate at a time (halving).
// - No traffic for keepAlive: scale to minInstances (0: scale to zero).
// - No instance but requests waiting: start at once (cold start).
// - Clamped to [minInstances, maxInstances].

export interface KpaConfig {
  targetConcurrency: number;
  minInstances: number;
  maxInstances: number;
  stableWindowMs: number;
  panicWindowMs: number;
  panicThreshold: number;
  keepAliveMs: number;
  /** Scale down at most to current / rate per decision (Knative: 2). */
  maxScaleDownRate: number;
}

/** Average concurrency over (t - dt, t]. */
export interface Sample {
  t: number;
  dt: number;
  concurrency: number;
}

export interface KpaState {
  samples: Sample[];
  /** Last time the panic threshold was crossed; null when not panicking. */
  panicSince: number | null;
  /** The highest count asked for during this panic. */
  panicDesired: number;
  /** Last time any request was in flight or waiting; null when never. */
  lastActiveAt: number | null;
}

export interface KpaInput {
  now: number;
  /** Instances ready to serve. */
  ready: number;
  /** Instances ready or starting (what a decision changes). */
  current: number;
  /** Concurrency right now (in flight + queued). */
  instant: number;
}

export type KpaReason = 'stable' | 'panic' | 'cold-start' | 'keep-alive' | 'scale-to-zero' | 'idle';

export interface KpaDecision {
  desired: number;
  panicking: boolean;
  stableConcurrency: number;
  panicConcurrency: number;
  reason: KpaReason;
}

export function initialKpaState(): KpaState {
  return { samples: [], panicSince: null, panicDesired: 0, lastActiveAt: null };
}

/** Adds a sample and forgets samples older than the stable window. */
export function recordSample(s: KpaState, sample: Sample, cfg: KpaConfig): KpaState {
  if (sample.dt <= 0) return s;
  const horizon = sample.t - cfg.stableWindowMs;
  const samples = [...s.samples.filter((x) => x.t > horizon), sample];
  const active = sample.concurrency > 0 ? sample.t : s.lastActiveAt;
  return { ...s, samples, lastActiveAt: active };
}

/** Time-weighted average concurrency over (now - windowMs, now], over the part of it samples cover. */
export function windowAverage(samples: readonly Sample[], now: number, windowMs: number): number {
  const start = now - windowMs;
  let weight = 0;
  let sum = 0;
  for (const x of samples) {
    const from = Math.max(x.t - x.dt, start);
    const to = Math.min(x.t, now);
    if (to <= from) continue;
    weight += to - from;
    sum += (to - from) * x.concurrency;
  }
  return weight > 0 ? sum / weight : 0;
}

export function decide(s: KpaState, input: KpaInput, cfg: KpaConfig): { state: KpaState; decision: KpaDecision } {
  const { now, ready, current, instant } = input;
  const target = cfg.targetConcurrency;
  const stable = windowAverage(s.samples, now, cfg.stableWindowMs);
  const panicC = windowAverage(s.samples, now, cfg.panicWindowMs);
  const lastActiveAt = instant > 0 ? now : s.lastActiveAt;
  const clamp = (n: number) => Math.min(cfg.maxInstances, Math.max(cfg.minInstances, n));
  const out = (state: KpaState, desired: number, reason: KpaReason): { state: KpaState; decision: KpaDecision } => ({
    state,
    decision: {
      desired: clamp(desired),
      panicking: state.panicSince !== null,
      stableConcurrency: stable,
      panicConcurrency: panicC,
      reason,
    },
  });

  // Scale to zero (or to the minimum) after keepAlive without any traffic.
  const idle = instant === 0 && (lastActiveAt === null || now - lastActiveAt >= cfg.keepAliveMs);
  if (idle) {
    const next: KpaState = { ...s, lastActiveAt, panicSince: null, panicDesired: 0 };
    return out(next, 0, current > 0 && cfg.minInstances === 0 ? 'scale-to-zero' : 'idle');
  }

  const desiredStable = Math.ceil(stable / target);
  const desiredPanic = Math.ceil(panicC / target);
  const capacity = Math.max(1, ready) * target;
  const over = panicC / capacity >= cfg.panicThreshold;

  let panicSince = s.panicSince;
  let panicDesired = s.panicDesired;
  if (over) {
    if (panicSince === null) panicDesired = Math.max(current, desiredPanic);
    panicSince = now;
  } else if (panicSince !== null && now - panicSince >= cfg.stableWindowMs) {
    panicSince = null;
    panicDesired = 0;
  }

  let desired: number;
  let reason: KpaReason;
  if (panicSince !== null) {
    panicDesired = Math.max(panicDesired, desiredPanic);
    desired = panicDesired;
    reason = 'panic';
  } else {
    desired = desiredStable;
    reason = 'stable';
    if (desired < current) desired = Math.max(desired, Math.floor(current / cfg.maxScaleDownRate));
  }
  // Requests waiting with nothing running or starting: start now.
  if (current === 0 && instant > 0) {
    desired = Math.max(desired, Math.ceil(instant / target));
    reason = panicSince !== null ? 'panic' : 'cold-start';
  }
  // Traffic within keepAlive keeps at least one instance.
  if (desired === 0 && (current > 0 || instant > 0)) {
    desired = 1;
    reason = 'keep-alive';
  }
  return out({ ...s, panicSince, panicDesired, lastActiveAt }, desired, reason);
}
