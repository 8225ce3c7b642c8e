// GPU -> CPU fallback of besteffort work (DART's shuffling): while realtime
// work saturates a GPU executor, besteffort requests of functions that allow
// either device (`device: auto`) run on CPU instances instead of waiting
// behind it, and they move back once the GPU has been free for a while.
//
// Saturated means both: realtime work fills the GPU (its queue depth or its
// oldest wait passes a mark) and besteffort work starves there (its oldest
// request has waited `enterBesteffortWaitMs`). Realtime load alone is not
// enough: a GPU that batches realtime work still serves besteffort runs in
// its gaps far faster than a CPU would (measured on the H200: 530 besteffort
// BERT-base answers on the GPU beside 16 realtime clients, 26 on CPU).
//
// While the fallback is on, an instance still picks per request the path
// that answers sooner (spillDevice): its CPU sessions run one request at a
// time, so past a few waiting for them a GPU that serves besteffort work in
// its gaps is faster (measured on the H200: a one-instance small CNN on
// CPU answered 62 requests in 10 s beside a BERT-large flood where the
// GPU's gaps had answered 144).
//
// Pure: the caller samples the executor's load and keeps the state.
// Hysteresis (enter above the high marks, leave only after `holdMs` below the
// low marks) keeps a load near a threshold from moving work back and forth
// on every sample.
import { TensorshareError } from '../errors.js';
import type { PriorityClass } from './dispatcher.js';

export interface FallbackConfig {
  /** Fall back when this many realtime requests wait for the GPU ... */
  enterQueueDepth: number;
  /** ... or the oldest of them has waited this long, ms ... */
  enterWaitMs: number;
  /** ... and the oldest besteffort request queued on the GPU has waited this long, ms. */
  enterBesteffortWaitMs: number;
  /** Move back once at most this many wait ... */
  exitQueueDepth: number;
  /** ... none longer than this, ms ... */
  exitWaitMs: number;
  /** ... for this long without a break, ms. */
  holdMs: number;
}

export const FALLBACK_DEFAULTS: Readonly<FallbackConfig> = Object.freeze({
  enterQueueDepth: 4,
  enterWaitMs: 20,
  enterBesteffortWaitMs: 1000,
  exitQueueDepth: 0,
  exitWaitMs: 5,
  holdMs: 500,
});

/** The realtime load of one GPU executor at a sample. */
export interface GpuLoad {
  realtimeQueued: number;
  /** Wait of the oldest queued realtime request, ms (0 when none). */
  realtimeOldestWaitMs: number;
  /** Wait of the oldest besteffort request queued on the GPU, ms (0 when none). */
  besteffortOldestWaitMs: number;
}

export interface FallbackState {
  /** Besteffort work of `device: auto` functions goes to CPU instances. */
  onCpu: boolean;
  /** onCpu: since when the load has been below the low marks (null: it is not). */
  calmSince: number | null;
  /** When onCpu last changed (for logs and metrics). */
  changedAt: number;
}

export const initialFallback = (now = 0): FallbackState => ({ onCpu: false, calmSince: null, changedAt: now });

export function checkFallbackConfig(c: FallbackConfig): void {
  for (const k of ['enterQueueDepth', 'exitQueueDepth'] as const)
    if (!(Number.isInteger(c[k]) && c[k] >= 0))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `fallback ${k} must be an integer >= 0, got ${c[k]}`);
  for (const k of ['enterWaitMs', 'enterBesteffortWaitMs', 'exitWaitMs', 'holdMs'] as const)
    if (!(Number.isFinite(c[k]) && c[k] >= 0))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `fallback ${k} must be a number >= 0, got ${c[k]}`);
  if (c.exitQueueDepth >= c.enterQueueDepth || c.exitWaitMs >= c.enterWaitMs)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `fallback exit marks must be below the enter marks (queue ${c.exitQueueDepth} < ${c.enterQueueDepth}, wait ${c.exitWaitMs} < ${c.enterWaitMs} ms), or work would move back at once`,
    );
}

/** The state after a load sample at `now`. */
export function fallbackStep(s: FallbackState, load: GpuLoad, now: number, c: FallbackConfig): FallbackState {
  const saturated =
    (load.realtimeQueued >= c.enterQueueDepth || load.realtimeOldestWaitMs >= c.enterWaitMs) &&
    load.besteffortOldestWaitMs >= c.enterBesteffortWaitMs;
  if (!s.onCpu) return saturated ? { onCpu: true, calmSince: null, changedAt: now } : s;
  const calm = load.realtimeQueued <= c.exitQueueDepth && load.realtimeOldestWaitMs <= c.exitWaitMs;
  if (!calm) return s.calmSince === null ? s : { ...s, calmSince: null };
  const calmSince = s.calmSince ?? now;
  if (now - calmSince >= c.holdMs) return { onCpu: false, calmSince: null, changedAt: now };
  return s.calmSince === calmSince ? s : { ...s, calmSince };
}

/** Where one request runs: only besteffort requests of `device: auto` functions leave the GPU, and only while it is saturated. */
export function deviceFor(
  s: FallbackState,
  request: { priority: PriorityClass; device: 'auto' | 'gpu' },
): 'gpu' | 'cpu' {
  return s.onCpu && request.device === 'auto' && request.priority === 'besteffort' ? 'cpu' : 'gpu';
}

/** What an instance of a `device: auto` function knows when a besteffort request comes for CPU (the fallback is on). */
export interface SpillView {
  /** Requests on its CPU sessions now (running or waiting for them: they run one at a time). */
  cpuRunning: number;
  /** Its recent CPU run time, ms (undefined: none yet). */
  cpuRunMs: number | undefined;
  /**
   * Its recent time of a request marked for CPU that it kept on the GPU path, waiting for the device included, ms
   * (undefined: none since the fallback came on; times from before, a calm GPU's, say nothing about a saturated one).
   */
  gpuMs: number | undefined;
  /** How long the oldest of those still on the GPU path has been there, ms (0: none). */
  gpuOldestMs: number;
}

/**
 * Where a besteffort request sent for CPU runs: the CPU unless the requests already waiting for the CPU would take
 * longer than the GPU path has been taking (its recent time, or the age of a request still on it if larger: a GPU
 * without gaps keeps work on CPU). Without a CPU time yet: the CPU. Without a GPU time: the CPU when it is free,
 * else one request tries the GPU (while it is there, its age is the GPU's time).
 */
export function spillDevice(v: SpillView): 'cpu' | 'gpu' {
  if (v.cpuRunMs === undefined) return 'cpu';
  if (v.gpuMs === undefined && v.gpuOldestMs === 0) return v.cpuRunning === 0 ? 'cpu' : 'gpu';
  const cpuMs = (v.cpuRunning + 1) * v.cpuRunMs;
  return cpuMs <= Math.max(v.gpuMs ?? 0, v.gpuOldestMs) ? 'cpu' : 'gpu';
}
