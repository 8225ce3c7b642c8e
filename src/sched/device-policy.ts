// Which waiting model runs next on a device, after Salus's policies
// (sec. 5): every policy puts realtime work ahead of besteffort work, then
//   fifo  oldest request first, and one run on the device at a time: a whole
//         GPU per job, the way GPU clusters run jobs without sharing;
//   pack  oldest request first, with as many models running at once as the
//         memory lanes hold (the makespan minimizer);
//   srtf  shortest expected run first (the online per-model profile of
//         profile.ts), aged so that long runs are not starved:
//         score = predictedMs - agingRate * waitedMs, lowest first;
//   fair  equal device time per tenant (or per model when no tenant is
//         named), weighted: lowest device-ms / weight first.
// Pure: candidates in, order out.
import { TensorshareError } from '../errors.js';
import type { PriorityClass } from './dispatcher.js';

export type DevicePolicy = 'fifo' | 'pack' | 'srtf' | 'fair';
export const DEVICE_POLICIES: readonly DevicePolicy[] = ['fifo', 'pack', 'srtf', 'fair'];

export function parseDevicePolicy(s: unknown, what = 'device policy'): DevicePolicy {
  if (typeof s === 'string' && (DEVICE_POLICIES as readonly string[]).includes(s)) return s as DevicePolicy;
  throw new TensorshareError(
    'ERR_INVALID_ARGUMENT',
    `${what}: ${JSON.stringify(s)} is not one of ${DEVICE_POLICIES.join(', ')}`,
    { value: s, allowed: DEVICE_POLICIES },
  );
}

/** Whether a policy runs several models on the device at once (in lanes). */
export const colocates = (p: DevicePolicy): boolean => p !== 'fifo';

/** A model with queued work, as the policy sees it. */
export interface Candidate {
  key: string;
  /** The class of the request it would run next (realtime if any of its queued requests is). */
  priority: PriorityClass;
  /** When that request was queued, ms on the scheduler's clock. */
  enqueuedAt: number;
  /** Predicted service time of its next run, ms (srtf). */
  predictedMs: number;
  /** Tenant charged for its device time (fair). */
  tenant: string;
}

export interface RankContext {
  now: number;
  /** srtf: ms of score gained per ms waited. */
  agingRate: number;
  /** fair: device ms used per tenant. */
  usedMs(tenant: string): number;
  /** fair: weight of a tenant (> 0). */
  weight(tenant: string): number;
}

const classRank = (p: PriorityClass): number => (p === 'realtime' ? 0 : 1);

function score(policy: DevicePolicy, c: Candidate, ctx: RankContext): number {
  if (policy === 'srtf') return c.predictedMs - ctx.agingRate * (ctx.now - c.enqueuedAt);
  if (policy === 'fair') return ctx.usedMs(c.tenant) / ctx.weight(c.tenant);
  return c.enqueuedAt;
}

/** Candidates in the order they get the device: realtime first, then the policy's score, then age, then key. */
export function rankCandidates(policy: DevicePolicy, candidates: readonly Candidate[], ctx: RankContext): Candidate[] {
  const scored = candidates.map((c) => ({ c, s: score(policy, c, ctx) }));
  scored.sort(
    (a, b) =>
      classRank(a.c.priority) - classRank(b.c.priority) ||
      a.s - b.s ||
      a.c.enqueuedAt - b.c.enqueuedAt ||
      (a.c.key < b.c.key ? -1 : a.c.key > b.c.key ? 1 : 0),
  );
  return scored.map((x) => x.c);
}
