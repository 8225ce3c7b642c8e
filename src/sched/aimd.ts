// Adaptive batch cap against a latency SLO, additive-increase /
// multiplicative-decrease as in Clipper: while a batch's observed latency stays
// within the SLO the cap grows by a fixed step; when it exceeds the SLO the cap
// shrinks by a fraction (10% by default). Always within [1, maxBatchSize].

import { TensorshareError } from '../errors.js';

export interface AimdConfig {
  /** Latency objective for one batch's execution, ms. */
  sloMs: number;
  /** Additive increase per batch under the SLO, items. Default 1. */
  step?: number;
  /** Fraction removed when a batch exceeds the SLO. Default 0.1. */
  backoff?: number;
  /** Starting cap. Default 1 (grows from safe). */
  initial?: number;
}

export interface AimdState {
  readonly cap: number;
  readonly max: number;
}

export function aimdInit(maxBatchSize: number, config: AimdConfig): AimdState {
  if (!(config.sloMs > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `AIMD sloMs must be > 0, got ${config.sloMs}`);
  const backoff = config.backoff ?? 0.1;
  if (!(backoff > 0 && backoff < 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `AIMD backoff must be in (0, 1), got ${backoff}`);
  if (!((config.step ?? 1) > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `AIMD step must be > 0, got ${config.step}`);
  return { cap: clamp(Math.floor(config.initial ?? 1), maxBatchSize), max: maxBatchSize };
}

/**
 * The next state after a batch that took `latencyMs`. `reachedCap` says
 * whether the cap limited that batch (it was full, or the next queued request
 * did not fit). Unlike Clipper, a batch that did not reach the cap does not
 * raise it: meeting the SLO at a smaller size says nothing about a larger
 * one, and otherwise a quiet period would inflate the cap to the maximum just
 * before a burst.
 */
export function aimdUpdate(state: AimdState, config: AimdConfig, latencyMs: number, reachedCap = true): AimdState {
  if (latencyMs <= config.sloMs && !reachedCap) return state;
  const next =
    latencyMs <= config.sloMs
      ? state.cap + Math.max(1, Math.floor(config.step ?? 1))
      : Math.floor(state.cap * (1 - (config.backoff ?? 0.1)));
  return { cap: clamp(next, state.max), max: state.max };
}

function clamp(cap: number, max: number): number {
  return Math.min(max, Math.max(1, cap));
}
