// Core accounting: instances reserve intra-op threads from one budget so the
// sum never exceeds the machine's cores. Refusal is explicit
// (ERR_RESOURCE_EXHAUSTED with what was asked and what is left), never a
// silent oversubscription.

import { availableParallelism } from 'node:os';
import { TensorshareError } from '../errors.js';

export interface CoreReservation {
  readonly owner: string;
  readonly threads: number;
  /** Returns the threads to the budget. Idempotent. */
  release(): void;
}

export interface CoreBudget {
  readonly total: number;
  used(): number;
  available(): number;
  /**
   * Reserves `threads` for `owner`. With `min` < threads, grants as many as
   * are free down to `min` (an instance that can run on fewer threads).
   * Throws ERR_RESOURCE_EXHAUSTED when fewer than `min` (default: all of
   * `threads`) are free.
   */
  reserve(owner: string, threads: number, options?: { min?: number }): CoreReservation;
  /** Current holders, for status output and metrics. */
  holders(): Array<{ owner: string; threads: number }>;
}

/** `total` defaults to os.availableParallelism(). */
export function createCoreBudget(options: { total?: number } = {}): CoreBudget {
  const total = options.total ?? availableParallelism();
  if (!Number.isInteger(total) || total < 1) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `core budget total must be an integer >= 1, got ${total}`);
  }
  const live = new Set<{ owner: string; threads: number }>();
  let used = 0;

  return {
    total,
    used: () => used,
    available: () => total - used,
    reserve(owner, threads, opts = {}) {
      const min = opts.min ?? threads;
      if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(min) || min < 1 || min > threads) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `${owner}: cannot reserve ${threads} threads (min ${min}); need integers 1 <= min <= threads`,
          { owner, threads, min },
        );
      }
      const free = total - used;
      if (free < min) {
        throw new TensorshareError(
          'ERR_RESOURCE_EXHAUSTED',
          `${owner}: asked for ${min === threads ? threads : `${min}..${threads}`} intra-op threads, ${free} of ${total} cores free`,
          { owner, requested: threads, min, available: free, total },
        );
      }
      const entry = { owner, threads: Math.min(threads, free) };
      live.add(entry);
      used += entry.threads;
      let released = false;
      return {
        owner,
        threads: entry.threads,
        release() {
          if (released) return;
          released = true;
          live.delete(entry);
          used -= entry.threads;
        },
      };
    },
    holders: () => [...live].map((e) => ({ ...e })),
  };
}
