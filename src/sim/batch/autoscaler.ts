// serve's default autoscaler as a `Scaler` for the batching simulator: the
// KPA decision function itself (src/serve/autoscaler/kpa.ts), sampled every
// tick with the concurrency (in flight + queued) since the last tick, as
// serve's driver does every second.
import { type KpaConfig, decide, initialKpaState, recordSample } from '../../serve/autoscaler/kpa.js';
import type { Scaler } from './engine.js';

/** serve's defaults for a function that sets nothing (functions/config.ts FUNCTION_DEFAULTS). */
export const DEFAULT_KPA: KpaConfig = {
  targetConcurrency: 1,
  minInstances: 0,
  maxInstances: 8,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThreshold: 2,
  keepAliveMs: 60_000,
  maxScaleDownRate: 2,
};

export function kpaScaler(cfg: KpaConfig, coldStartMs: number, tickMs = 1000): Scaler {
  let state = initialKpaState();
  let lastT: number | null = null;
  return {
    tickMs,
    coldStartMs,
    decide({ now, ready, current, inFlight, queued }) {
      const instant = inFlight + queued;
      if (lastT !== null) state = recordSample(state, { t: now, dt: now - lastT, concurrency: instant }, cfg);
      lastT = now;
      const r = decide(state, { now, ready, current, instant }, cfg);
      state = r.state;
      return r.decision.desired;
    },
  };
}
