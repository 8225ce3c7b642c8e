// The daemon's picture of what is resident on one device, as plain data, and
// which models to evict so that a new one fits: the same eviction policies as
// the store (policy/), over models nothing uses (no client, no pin, not
// loading). Pure; device-tier.ts does the loading and unloading.
import type { Candidate, Policy, PolicyContext, UsageStats } from './policy/index.js';
import type { Measured } from '../device/protocol.js';

export interface DeviceModel extends UsageStats {
  key: string;
  /** Display name `name:version` (with its tenant's prefix). */
  model: string;
  /** Bytes counted against the device budget: measured, or the estimate until measured. */
  bytes: number;
  measured?: Measured;
  clients: number;
  pinned: boolean;
  /** Loaded (or being reloaded after an executor restart). */
  resident: boolean;
  loading: boolean;
}

export const inUse = (m: DeviceModel): boolean => m.clients > 0 || m.pinned || m.loading;

export function deviceUsed(models: Iterable<DeviceModel>): number {
  let n = 0;
  for (const m of models) if (m.resident || m.loading) n += m.bytes;
  return n;
}

const candidate = (m: DeviceModel): Candidate => ({
  key: m.key,
  bytes: m.bytes,
  hits: m.hits,
  lastUse: m.lastUse,
  loadedAt: m.loadedAt,
  lastRelease: m.lastRelease,
  costMs: m.costMs,
  priority: m.priority,
});

export type DevicePlan =
  | { ok: true; victims: DeviceModel[] }
  | { ok: false; free: number; reclaimable: number; used: number };

/** Which unused resident models to unload, in policy order, so that `need` more bytes fit in `budget`. */
export function planDeviceEviction(
  models: readonly DeviceModel[],
  policy: Policy,
  ctx: PolicyContext,
  need: number,
  budget: number,
): DevicePlan {
  const used = deviceUsed(models);
  const free = budget - used;
  if (need <= free) return { ok: true, victims: [] };
  const byKey = new Map(models.filter((m) => m.resident && !inUse(m)).map((m) => [m.key, m]));
  const order = policy.order([...byKey.values()].map(candidate), ctx).map((c) => byKey.get(c.key)!);
  const reclaimable = order.reduce((a, m) => a + m.bytes, 0);
  if (free + reclaimable < need) return { ok: false, free: Math.max(0, free), reclaimable, used };
  const victims: DeviceModel[] = [];
  let freed = 0;
  for (const m of order) {
    if (free + freed >= need) break;
    victims.push(m);
    freed += m.bytes;
  }
  return { ok: true, victims };
}

/** Unused models the policy says should go without pressure (ttl, eager). */
export function expiredOnDevice(models: readonly DeviceModel[], policy: Policy, ctx: PolicyContext): DeviceModel[] {
  return models.filter((m) => m.resident && !inUse(m) && policy.expired(candidate(m), ctx));
}

export const toDeviceCandidate = candidate;
