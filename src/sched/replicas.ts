// When a model resident on several GPUs gets one more replica, and when one
// goes: the daemon samples, per model, the requests queued on the executors
// that hold it and how many replicas it has, and keeps this state per model.
// Pressure (queued per replica at or above `addQueueDepth`) that lasts
// `addAfterMs` asks for a replica on a further device (best fit, loaded from
// the host store); a model with no queued work for `removeAfterMs` gives back
// a replica that no client uses. Pure: the caller's clock, no I/O.
import { TensorshareError } from '../errors.js';

export interface ReplicaConfig {
  /** Requests queued per replica that count as pressure; 0 turns replicas off. */
  addQueueDepth: number;
  /** How long pressure lasts before a replica is added, ms. */
  addAfterMs: number;
  /** How long a model has nothing queued before a replica no client uses goes, ms. */
  removeAfterMs: number;
  /** Most replicas of one model (the devices bound it too). */
  maxReplicas: number;
}

export interface ReplicaSample {
  /** Requests queued or running for the model over all its replicas. */
  queued: number;
  replicas: number;
  /** Replicas that no client has open (only those can go). */
  unusedReplicas: number;
}

export interface ReplicaState {
  busySince: number | null;
  calmSince: number | null;
}

export const initialReplicaState = (): ReplicaState => ({ busySince: null, calmSince: null });

export function checkReplicaConfig(c: ReplicaConfig): void {
  const bad = (m: string) => new TensorshareError('ERR_INVALID_ARGUMENT', m);
  if (!(Number.isInteger(c.addQueueDepth) && c.addQueueDepth >= 0))
    throw bad(`replica addQueueDepth must be an integer >= 0 (0: no replicas), got ${c.addQueueDepth}`);
  for (const k of ['addAfterMs', 'removeAfterMs'] as const)
    if (!(Number.isFinite(c[k]) && c[k] >= 0)) throw bad(`replica ${k} must be a number of ms >= 0, got ${c[k]}`);
  if (!(Number.isInteger(c.maxReplicas) && c.maxReplicas >= 1))
    throw bad(`replica maxReplicas must be an integer >= 1, got ${c.maxReplicas}`);
}

/** The state after a sample at `now`, and whether to add a replica or remove one. */
export function replicaStep(
  s: ReplicaState,
  x: ReplicaSample,
  now: number,
  c: ReplicaConfig,
): { state: ReplicaState; action: 'add' | 'remove' | null } {
  if (c.addQueueDepth === 0 || x.replicas === 0) return { state: initialReplicaState(), action: null };
  if (x.queued >= c.addQueueDepth * x.replicas) {
    const busySince = s.busySince ?? now;
    if (now - busySince >= c.addAfterMs && x.replicas < c.maxReplicas)
      // Re-armed: the next replica waits a whole period, with this one's load seen first.
      return { state: { busySince: now, calmSince: null }, action: 'add' };
    return { state: { busySince, calmSince: null }, action: null };
  }
  if (x.queued > 0) return { state: { busySince: null, calmSince: null }, action: null };
  const calmSince = s.calmSince ?? now;
  if (x.replicas > 1 && x.unusedReplicas > 0 && now - calmSince >= c.removeAfterMs)
    return { state: { busySince: null, calmSince: now }, action: 'remove' };
  return { state: { busySince: null, calmSince }, action: null };
}
