// The daemon's picture of the store, as plain data: resident units (a model
// in one mode: fast-open files, or a fast-run variant's files), the files
// they use, and who references them. A file stays while any resident unit
// uses it; a unit can be evicted only while nothing references it (no lease,
// no pin, no open in progress). Pure functions; admission.ts does the I/O.
import type { OpenMode } from '../store/manifest.js';
import type { StoreFile } from '../store/evict.js';
import type { Candidate, Policy, PolicyContext, UsageStats } from './policy/index.js';

export interface Unit extends UsageStats {
  key: string;
  ns: string;
  mode: OpenMode;
  /** Display name `name:version` (for a fast-run variant, the first model that used it). */
  name: string;
  version: string;
  digest: string;
  manifestFile: string;
  graphPath: string;
  files: StoreFile[];
  bytes: number;
  resident: boolean;
  leases: number;
  /** Opens, pins and builds in progress that need the unit. */
  pending: number;
  pinned: boolean;
  opens: number;
}

export interface FileEntry extends StoreFile {
  users: Set<string>;
  hits: number;
  lastUse: number;
}

export interface Residency {
  units: Map<string, Unit>;
  /** Resident files by absolute path. */
  files: Map<string, FileEntry>;
  inflation: number;
  /** Sum of the resident files' bytes (kept by addResident/removeResident: admission asks at every open). */
  used: number;
  /** Resident fast-run units by `ns NUL model digest` (whether a fast-open unit is replaced, without a walk over every unit). */
  fastRun: Map<string, number>;
}

export const newResidency = (): Residency => ({
  units: new Map(),
  files: new Map(),
  inflation: 0,
  used: 0,
  fastRun: new Map(),
});

const digestKey = (u: Pick<Unit, 'ns' | 'digest'>) => `${u.ns}\0${u.digest}`;

/** Whether a fast-run unit of `u`'s model (same namespace and digest) is resident. */
export const fastRunResident = (r: Residency, u: Pick<Unit, 'ns' | 'digest'>): boolean =>
  (r.fastRun.get(digestKey(u)) ?? 0) > 0;

export function modelUnitKey(ns: string, name: string, version: string): string {
  return `${ns}/${name}:${version}#fast-open`;
}

export function variantUnitKey(ns: string, digest: string, variantKey: string): string {
  return `${ns}/@${digest}#${variantKey}`;
}

export function newUnit(
  init: Pick<Unit, 'key' | 'ns' | 'mode' | 'name' | 'version' | 'digest' | 'manifestFile' | 'graphPath' | 'files'>,
  now: number,
): Unit {
  return {
    ...init,
    bytes: init.files.reduce((a, f) => a + f.bytes, 0),
    resident: false,
    leases: 0,
    pending: 0,
    pinned: false,
    opens: 0,
    hits: 0,
    lastUse: now,
    loadedAt: now,
    lastRelease: now,
    costMs: 0,
    priority: 0,
  };
}

export const isReferenced = (u: Unit): boolean => u.leases > 0 || u.pending > 0 || u.pinned;

export function usedBytes(r: Residency): number {
  return r.used;
}

/** Marks a unit resident and records its files. */
export function addResident(r: Residency, u: Unit, now: number): void {
  if (!u.resident && u.mode === 'fast-run') r.fastRun.set(digestKey(u), (r.fastRun.get(digestKey(u)) ?? 0) + 1);
  u.resident = true;
  u.loadedAt = now;
  for (const f of u.files) {
    let e = r.files.get(f.path);
    if (!e) {
      e = { ...f, users: new Set(), hits: 0, lastUse: now };
      r.files.set(f.path, e);
      r.used += e.bytes;
    }
    e.users.add(u.key);
  }
}

/** Marks a unit not resident; returns the files no resident unit uses any more (to delete). */
export function removeResident(r: Residency, u: Unit): FileEntry[] {
  if (u.resident && u.mode === 'fast-run') {
    const n = (r.fastRun.get(digestKey(u)) ?? 1) - 1;
    if (n > 0) r.fastRun.set(digestKey(u), n);
    else r.fastRun.delete(digestKey(u));
  }
  u.resident = false;
  const orphans: FileEntry[] = [];
  for (const f of u.files) {
    const e = r.files.get(f.path);
    if (!e) continue;
    e.users.delete(u.key);
    if (e.users.size === 0) {
      r.files.delete(f.path);
      r.used -= e.bytes;
      orphans.push(e);
    }
  }
  return orphans;
}

/** Bytes of a unit's files that are not resident yet. */
export function missingBytes(r: Residency, u: Unit): number {
  return u.files.reduce((a, f) => a + (r.files.has(f.path) ? 0 : f.bytes), 0);
}

export function toCandidate(u: Unit): Candidate {
  return {
    key: u.key,
    bytes: u.bytes,
    hits: u.opens,
    lastUse: u.lastUse,
    loadedAt: u.loadedAt,
    lastRelease: u.lastRelease,
    costMs: u.costMs,
    priority: u.priority,
  };
}

/** Resident units nothing references: the only ones a policy may evict. */
export function candidates(r: Residency): Unit[] {
  return [...r.units.values()].filter((u) => u.resident && !isReferenced(u));
}

/** Bytes freed by evicting `victims`: files all of whose users are victims, except `protect`ed ones. */
export function freedBy(r: Residency, victims: ReadonlySet<string>, protect: ReadonlySet<string> = new Set()): number {
  let n = 0;
  for (const f of r.files.values()) {
    if (protect.has(f.path)) continue;
    let all = f.users.size > 0;
    for (const u of f.users)
      if (!victims.has(u)) {
        all = false;
        break;
      }
    if (all) n += f.bytes;
  }
  return n;
}

/** Bytes of a unit's files that no other resident unit uses. */
export function exclusiveBytes(r: Residency, u: Unit): number {
  return u.files.reduce((a, f) => {
    const e = r.files.get(f.path);
    return a + (e && e.users.size === 1 && e.users.has(u.key) ? e.bytes : 0);
  }, 0);
}

export type EvictionPlan =
  | { ok: true; victims: Unit[]; freed: number }
  | { ok: false; reclaimable: number; available: number };

/**
 * Which units to evict so that `need` more bytes fit in `budget`. Follows
 * the policy's order, then drops victims whose eviction turned out not to
 * be needed (e.g. ones sharing all their files with a later victim).
 * `protect`: files the incoming unit needs, never counted as freed.
 */
export function planEviction(
  r: Residency,
  policy: Policy,
  ctx: PolicyContext,
  need: number,
  budget: number,
  protect: ReadonlySet<string> = new Set(),
): EvictionPlan {
  const available = budget - usedBytes(r);
  if (need <= available) return { ok: true, victims: [], freed: 0 };
  const byKey = new Map(candidates(r).map((u) => [u.key, u]));
  const order = policy.order([...byKey.values()].map(toCandidate), ctx).map((c) => byKey.get(c.key)!);
  const all = new Set(order.map((u) => u.key));
  const reclaimable = freedBy(r, all, protect);
  if (available + reclaimable < need) return { ok: false, reclaimable, available: Math.max(available, 0) };
  const victims: Unit[] = [];
  const chosen = new Set<string>();
  for (const u of order) {
    victims.push(u);
    chosen.add(u.key);
    if (available + freedBy(r, chosen, protect) >= need) break;
  }
  for (let i = victims.length - 1; i >= 0; i--) {
    const k = victims[i]!.key;
    chosen.delete(k);
    if (available + freedBy(r, chosen, protect) >= need) victims.splice(i, 1);
    else chosen.add(k);
  }
  return { ok: true, victims, freed: freedBy(r, chosen, protect) };
}
