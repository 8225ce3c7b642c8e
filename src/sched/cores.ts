// Core accounting: instances reserve intra-op threads from one budget so the
// sum never exceeds the machine's cores. Refusal is explicit
// (ERR_RESOURCE_EXHAUSTED with what was asked and what is left), never a
// silent oversubscription.
//
// Two tiers: `yielding` reservations belong to besteffort instances running
// at the lowest CPU priority (SCHED_IDLE / nice 19, see
// src/serve/instances/cpu-priority.ts). The kernel hands their cores to
// normal-priority threads the moment those are runnable, so a normal
// reservation may take cores that yielding ones hold: realtime demand
// reclaims the cores of busy besteffort instances instead of being refused.
// Each tier on its own never exceeds the cores.

import { availableParallelism } from 'node:os';
import { TensorshareError } from '../errors.js';

export interface CoreReservation {
  readonly owner: string;
  readonly threads: number;
  readonly yielding: boolean;
  /** Returns the threads to the budget. Idempotent. */
  release(): void;
}

export interface CoreBudget {
  readonly total: number;
  /** Threads held by normal reservations (never above `total`). */
  used(): number;
  /** Threads held by yielding reservations (never above `total`; they give way to normal ones). */
  yielding(): number;
  /** What a normal reservation can get now. */
  available(): number;
  /**
   * Reserves `threads` for `owner`. With `min` < threads, grants as many as
   * are free down to `min` (an instance that can run on fewer threads).
   * Throws ERR_RESOURCE_EXHAUSTED when fewer than `min` (default: all of
   * `threads`) are free in the reservation's tier. `yielding`: the owner runs
   * at the lowest CPU priority; it counts only against other yielding
   * reservations, and normal ones may take its cores.
   */
  reserve(owner: string, threads: number, options?: { min?: number; yielding?: boolean }): CoreReservation;
  /** Current holders, for status output and metrics (`yielding: true` on yielding ones). */
  holders(): Array<{ owner: string; threads: number; yielding?: true }>;
}

/** `total` defaults to os.availableParallelism(). */
export function createCoreBudget(options: { total?: number } = {}): CoreBudget {
  const total = options.total ?? availableParallelism();
  if (!Number.isInteger(total) || total < 1) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `core budget total must be an integer >= 1, got ${total}`);
  }
  const live = new Set<{ owner: string; threads: number; yielding?: true }>();
  const held = { normal: 0, yielding: 0 };

  return {
    total,
    used: () => held.normal,
    yielding: () => held.yielding,
    available: () => total - held.normal,
    reserve(owner, threads, opts = {}) {
      const min = opts.min ?? threads;
      if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(min) || min < 1 || min > threads) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `${owner}: cannot reserve ${threads} threads (min ${min}); need integers 1 <= min <= threads`,
          { owner, threads, min },
        );
      }
      const tier = opts.yielding ? 'yielding' : 'normal';
      const free = total - held[tier];
      if (free < min) {
        throw new TensorshareError(
          'ERR_RESOURCE_EXHAUSTED',
          `${owner}: asked for ${min === threads ? threads : `${min}..${threads}`} intra-op threads, ${free} of ${total} cores free${opts.yielding ? ' to idle-priority instances' : ''}`,
          { owner, requested: threads, min, available: free, total, yielding: tier === 'yielding' },
        );
      }
      const entry = { owner, threads: Math.min(threads, free), ...(opts.yielding ? { yielding: true as const } : {}) };
      live.add(entry);
      held[tier] += entry.threads;
      let released = false;
      return {
        owner,
        threads: entry.threads,
        yielding: tier === 'yielding',
        release() {
          if (released) return;
          released = true;
          live.delete(entry);
          held[tier] -= entry.threads;
        },
      };
    },
    holders: () => [...live].map((e) => ({ ...e })),
  };
}
