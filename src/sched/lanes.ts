// Salus's memory lanes on one device (Yu & Chowdhury, "Salus: Fine-Grained
// GPU Sharing Primitives for Deep Learning Applications", MLSys 2020, sec. 4).
// Device memory C is split into a persistent region (every resident model's
// weights and session state, P_i) and ephemeral lanes (activations and
// scratch of running work). A job runs only in a lane at least as large as
// its ephemeral peak E; jobs in one lane run one at a time, lanes run
// concurrently. The safety condition
//
//     sum_i P_i + sum over lanes of max_{j in lane} E_j <= C
//
// means every lane can always run at least one of its jobs, so admitted work
// never runs out of device memory. Pure bookkeeping over byte counts: the
// executor decides when a job runs (lanes-scheduler.ts).
import { TensorshareError } from '../errors.js';

export interface Lane {
  readonly id: number;
  /** L_j: bytes reserved for the lane, the largest E of the jobs it holds. */
  size: number;
  /** Job -> its ephemeral peak E, bytes. */
  readonly jobs: Map<string, number>;
}

export interface LaneBook {
  /** C: device bytes the book may hand out. */
  readonly capacity: number;
  /** Resident model -> P, bytes. */
  readonly persistent: Map<string, number>;
  readonly lanes: Lane[];
  nextId: number;
}

/** Where Algorithm 1 puts a job of ephemeral peak E. */
export type LaneChoice =
  | { kind: 'new'; size: number }
  | { kind: 'existing'; lane: Lane }
  | { kind: 'grow'; lane: Lane; size: number };

export function createLaneBook(capacity: number): LaneBook {
  if (!(Number.isSafeInteger(capacity) && capacity >= 0))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `lane capacity must be a whole number of bytes, got ${capacity}`,
    );
  return { capacity, persistent: new Map(), lanes: [], nextId: 1 };
}

const sum = (xs: Iterable<number>): number => {
  let n = 0;
  for (const x of xs) n += x;
  return n;
};

export const persistentBytes = (b: LaneBook): number => sum(b.persistent.values());
export const laneBytes = (b: LaneBook): number => sum(b.lanes.map((l) => l.size));
/** C - sum P - sum L: what neither resident models nor lanes hold. */
export const freeBytes = (b: LaneBook): number => b.capacity - persistentBytes(b) - laneBytes(b);
/** The safety condition; every operation of this module keeps it. */
export const isSafe = (b: LaneBook): boolean => freeBytes(b) >= 0;
/** The largest lane a job could ever get: all of C but the persistent region. */
export const largestPossibleLane = (b: LaneBook): number => b.capacity - persistentBytes(b);

function checkBytes(what: string, n: number): void {
  if (!(Number.isSafeInteger(n) && n >= 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} must be a whole number of bytes, got ${n}`);
}

/** A model becomes resident: its P joins the persistent region, or ERR_RESOURCE_EXHAUSTED when it does not fit beside the lanes. */
export function addPersistent(b: LaneBook, model: string, bytes: number): void {
  checkBytes(`persistent bytes of ${model}`, bytes);
  const free = freeBytes(b) + (b.persistent.get(model) ?? 0);
  if (bytes > free)
    throw new TensorshareError(
      'ERR_RESOURCE_EXHAUSTED',
      `${model} needs ${bytes} persistent bytes but only ${Math.max(0, free)} of ${b.capacity} are outside the persistent region and the lanes`,
      { model, need: bytes, free: Math.max(0, free), capacity: b.capacity },
    );
  b.persistent.set(model, bytes);
}

export function removePersistent(b: LaneBook, model: string): void {
  b.persistent.delete(model);
}

/**
 * Salus Algorithm 1: a new lane of size E when the free memory holds one;
 * else the best-matching existing lane (the smallest with L_j >= E); else
 * the smallest lane that can grow to E within C; else undefined (the job
 * waits for a lane to shrink or go).
 */
export function findLane(b: LaneBook, ephemeral: number): LaneChoice | undefined {
  checkBytes('ephemeral bytes', ephemeral);
  const free = freeBytes(b);
  if (ephemeral <= free) return { kind: 'new', size: ephemeral };
  let best: Lane | undefined;
  for (const l of b.lanes) if (l.size >= ephemeral && (!best || l.size < best.size)) best = l;
  if (best) return { kind: 'existing', lane: best };
  let grow: Lane | undefined;
  for (const l of b.lanes) if (ephemeral - l.size <= free && (!grow || l.size < grow.size)) grow = l;
  return grow ? { kind: 'grow', lane: grow, size: ephemeral } : undefined;
}

/** Puts `job` in the lane Algorithm 1 chooses; undefined when none can take it now. A job already in a lane stays there. */
export function assignLane(b: LaneBook, job: string, ephemeral: number): Lane | undefined {
  const have = laneOf(b, job);
  if (have) return have;
  const choice = findLane(b, ephemeral);
  if (!choice) return undefined;
  let lane: Lane;
  if (choice.kind === 'new') {
    lane = { id: b.nextId++, size: choice.size, jobs: new Map() };
    b.lanes.push(lane);
  } else {
    lane = choice.lane;
    if (choice.kind === 'grow') lane.size = choice.size;
  }
  lane.jobs.set(job, ephemeral);
  return lane;
}

export function laneOf(b: LaneBook, job: string): Lane | undefined {
  return b.lanes.find((l) => l.jobs.has(job));
}

/** The job finished: it leaves its lane, which shrinks to the largest E left in it, or goes when empty. */
export function releaseLane(b: LaneBook, job: string): void {
  const lane = laneOf(b, job);
  if (!lane) return;
  lane.jobs.delete(job);
  if (lane.jobs.size === 0) b.lanes.splice(b.lanes.indexOf(lane), 1);
  else lane.size = Math.max(...lane.jobs.values());
}
