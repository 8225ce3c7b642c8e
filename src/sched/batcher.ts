// The dynamic-batching decision for one function's queue, after Triton's
// dynamic batcher. Pure: it looks at the queued requests (in the order they
// would be taken) and the clock, and says how many to take now or when to look
// again. The queue itself lives in the dispatcher.

import { TensorshareError } from '../errors.js';

export interface BatchingConfig {
  /** Largest batch, in items (rows on axis 0). */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for a fuller batch. 0 = never wait. */
  maxQueueDelayMs: number;
  /** Batch sizes (items) to dispatch at once when reachable, e.g. sizes the model runs fastest at. */
  preferredBatchSizes?: number[];
}

export interface Pending {
  /** Rows this request contributes on axis 0. */
  items: number;
  enqueuedAt: number;
}

export type BatchDecision =
  | { take: number } // dispatch the first `take` pending requests now
  | { waitUntil: number }; // nothing to dispatch before this time (unless more requests arrive)

/**
 * Decides whether to form a batch from `pending` (non-empty, in take order).
 * `config === null` means the function is not batchable: one request per run.
 * `cap` is the current batch cap in items (AIMD; at most maxBatchSize).
 *
 * A batch is formed when
 *  1. the next request would not fit under the cap (or the cap is met exactly);
 *  2. else, a preferred size is reachable: the largest such prefix is sent now
 *     (as Triton does; waiting could only add requests beyond a preferred size
 *     that was already met);
 *  3. else, the oldest request has waited maxQueueDelayMs: everything that fits;
 *  4. else, the queue holds one request and it came more than maxQueueDelayMs
 *     after the one before it (`arrivalGapMs`): at that rate nothing is
 *     likely to join within the delay, so it goes now instead of waiting alone.
 * Otherwise wait until the oldest request's delay expires.
 */
export function decideBatch(
  pending: readonly Pending[],
  config: BatchingConfig | null,
  cap: number,
  now: number,
  arrivalGapMs?: number,
): BatchDecision {
  if (pending.length === 0) throw new TensorshareError('ERR_INTERNAL', 'decideBatch called with an empty queue');
  if (config === null) return { take: 1 };
  let total = 0;
  let n = 0;
  let full = false;
  let preferredN = 0;
  const preferred = config.preferredBatchSizes ?? [];
  for (const r of pending) {
    if (total + r.items > cap) {
      full = true;
      break;
    }
    total += r.items;
    n++;
    if (preferred.includes(total)) preferredN = n;
  }
  // A request larger than the cap (but within maxBatchSize) runs alone.
  if (n === 0) return { take: 1 };
  if (full || total === cap) return { take: n };
  if (preferredN > 0) return { take: preferredN };
  let oldest = Infinity;
  for (const r of pending) oldest = Math.min(oldest, r.enqueuedAt);
  const due = oldest + config.maxQueueDelayMs;
  if (now >= due) return { take: n };
  if (pending.length === 1 && arrivalGapMs !== undefined && arrivalGapMs > config.maxQueueDelayMs) return { take: 1 };
  return { waitUntil: due };
}

/** Validates a batching config; throws ERR_INVALID_ARGUMENT naming the function. */
export function checkBatchingConfig(fn: string, c: BatchingConfig): void {
  const bad = (msg: string) => new TensorshareError('ERR_INVALID_ARGUMENT', `function ${fn}: ${msg}`, { fn });
  if (!Number.isInteger(c.maxBatchSize) || c.maxBatchSize < 1)
    throw bad(`maxBatchSize must be an integer >= 1, got ${c.maxBatchSize}`);
  if (!(c.maxQueueDelayMs >= 0)) throw bad(`maxQueueDelayMs must be >= 0, got ${c.maxQueueDelayMs}`);
  for (const p of c.preferredBatchSizes ?? []) {
    if (!Number.isInteger(p) || p < 1 || p > c.maxBatchSize)
      throw bad(`preferred batch size ${p} is not an integer in [1, ${c.maxBatchSize}]`);
  }
}
