// What an eviction policy sees: unreferenced, unpinned resident models as
// plain data, and the clock. Policies are pure: they order candidates and
// say which ones expire; the daemon does the deleting.

/** Usage statistics of a resident model, as the daemon keeps, persists and hands to policies. */
export interface UsageStats {
  /** Opens served. */
  hits: number;
  /** Last open or release, ms. */
  lastUse: number;
  /** When it became resident, ms. */
  loadedAt: number;
  /** When its last reference ended (loadedAt if it never had one), ms. */
  lastRelease: number;
  /** Measured time to make it resident again, ms. */
  costMs: number;
  /** Policy-maintained priority (GreedyDual-Size H); 0 for other policies. */
  priority: number;
}

export interface Candidate extends UsageStats {
  key: string;
  /** Bytes of the model's files (graph + unique tensors). */
  bytes: number;
}

export interface PolicyContext {
  now: number;
  /** Keep-alive window of the ttl policy. */
  ttlMs: number;
  /** GreedyDual-Size inflation value L. */
  inflation: number;
}

export interface Policy {
  readonly name: PolicyName;
  /** Eviction order under memory pressure: first to go first. Does not mutate its input. */
  order(candidates: readonly Candidate[], ctx: PolicyContext): Candidate[];
  /** True when an unreferenced model should go now, without pressure (reclaimer, last release). */
  expired(c: Candidate, ctx: PolicyContext): boolean;
  /** Priority to record when the model is opened or loaded. */
  onAccess(c: Candidate, ctx: PolicyContext): number;
  /** Inflation value after `victim` was evicted. */
  onEvict(victim: Candidate, ctx: PolicyContext): number;
}

export const POLICY_NAMES = ['lru', 'lfu', 'fifo', 'cost', 'ttl', 'eager', 'never'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Sorts by the given keys, then by key for a deterministic order. */
export function sortBy(candidates: readonly Candidate[], ...keys: ((c: Candidate) => number)[]): Candidate[] {
  return [...candidates].sort((a, b) => {
    for (const k of keys) {
      const d = k(a) - k(b);
      if (d !== 0) return d;
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
}

/** Defaults for policies that keep no priority. */
export const noPriority = {
  onAccess: (): number => 0,
  onEvict: (_v: Candidate, ctx: PolicyContext): number => ctx.inflation,
};
