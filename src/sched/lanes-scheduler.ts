// The device executor's scheduler as a synchronous state machine (the
// dispatcher's shape: enqueue / next / complete, the caller's clock):
// resident models with their persistent bytes P and ephemeral peak E, the
// requests queued for them, Salus lanes (lanes.ts) and one device policy
// (device-policy.ts).
//
//   next(now) -> { start, rejected }: the runs to start now, each a batch of
//                one model's requests in one lane, and requests that can
//                never run (E larger than any lane could be).
//   complete(run, serviceMs, now): the lane is free again; the profile
//                (srtf) and the device time per tenant (fair) learn.
//
// A model holds a lane while it has work; runs of models in one lane are one
// at a time, runs in different lanes at once (one run per model at a time:
// its session). A model whose E fits no lane waits: nothing is started that
// could run out of device memory. Realtime requests go ahead of besteffort
// ones, and no besteffort run starts while realtime work is queued or running.
//
// Per-function policies: a request may carry a policy of its own (its
// function's `gpuPolicy`). It orders that request among the model's queued
// requests carrying the same policy (realtime first, then the policy's score:
// oldest for fifo and pack, shortest expected run aged for srtf, least device
// time per weight of its tenant for fair); the executor's policy then picks
// among the heads of those groups (and requests with no policy of their own),
// ranks the models against each other, and decides co-location (fifo: one
// run on the device at a time). So a function's policy reorders only its own
// kind of work; it never moves it ahead of another function's on its own say.
// A model that waits for a lane keeps later candidates from opening or
// growing lanes (they may still use lanes that exist), and a model that ends
// a run while another waits for a lane gives its lane back, so the policy
// decides who runs next and no one waits forever behind a busy model.
import { TensorshareError } from '../errors.js';
import { decideBatch } from './batcher.js';
import { type Candidate, type DevicePolicy, colocates, rankCandidates } from './device-policy.js';
import type { PriorityClass } from './dispatcher.js';
import {
  type LaneBook,
  addPersistent,
  assignLane,
  createLaneBook,
  findLane,
  freeBytes,
  largestPossibleLane,
  laneOf,
  persistentBytes,
  releaseLane,
  removePersistent,
} from './lanes.js';
import { type LatencyProfile, createProfile, observe, predict } from './profile.js';

export interface LaneSchedulerConfig {
  /** C: device bytes for resident models and lanes. */
  capacity: number;
  policy: DevicePolicy;
  /** Largest batch in rows (the device's gpuMaxBatch). */
  maxBatchRows: number;
  /** srtf: ms of score gained per ms waited. Default 0.5. */
  agingRate?: number;
  /** fair: weight per tenant (default 1). */
  weights?: Readonly<Record<string, number>>;
  /** srtf/fair: guess of a run before any was measured, ms. Default 10. */
  priorMs?: number;
}

export interface DeviceModelSpec {
  persistentBytes: number;
  ephemeralBytes: number;
  /** Whether its requests can be joined into one run (inputs and outputs with a free first dimension). */
  batchable: boolean;
}

export interface DeviceRequestInit {
  key: string;
  priority: PriorityClass;
  /** Charged for device time under fair; default: the model's key. */
  tenant?: string;
  rows: number;
  /** Requests join one run only with the same group (same trailing dimensions and outputs). */
  group: string;
  /** The function's own policy: orders this request among the model's requests with the same policy (default: the executor's). */
  policy?: DevicePolicy;
}

export interface DeviceRequest extends Required<Omit<DeviceRequestInit, 'policy'>> {
  readonly id: number;
  readonly enqueuedAt: number;
  readonly policy?: DevicePolicy;
}

/** The realtime pressure on the device at a moment: what the GPU -> CPU fallback samples (sched/fallback.ts). */
export interface RealtimeLoad {
  /** Realtime requests queued, not yet on the device. */
  realtimeQueued: number;
  /** How long the oldest of them has waited, ms (0 when none). */
  realtimeOldestWaitMs: number;
  /** Realtime runs on the device now. */
  realtimeRunning: number;
  besteffortQueued: number;
  /** How long the oldest queued besteffort request has waited, ms (0 when none). */
  besteffortOldestWaitMs: number;
}

export interface DeviceRun {
  readonly id: number;
  readonly key: string;
  readonly lane: number;
  readonly requests: DeviceRequest[];
  readonly rows: number;
  readonly startedAt: number;
  readonly predictedMs: number;
  /** Runs on the device while this one started, itself included. */
  readonly concurrent: number;
}

export interface LaneDecision {
  start: DeviceRun[];
  rejected: { request: DeviceRequest; error: TensorshareError }[];
}

export interface LaneSnapshot {
  capacity: number;
  persistentBytes: number;
  freeBytes: number;
  lanes: { id: number; size: number; models: string[]; busy: boolean }[];
  running: number;
  queued: number;
  /** Most runs that were on the device at once. */
  peakConcurrent: number;
}

interface ModelState extends DeviceModelSpec {
  key: string;
  queue: DeviceRequest[];
  running?: DeviceRun;
  /** It was ranked, found no lane and waits for one. */
  waitingForLane: boolean;
}

export type LaneScheduler = ReturnType<typeof createLaneScheduler>;

export function createLaneScheduler(config: LaneSchedulerConfig) {
  const { policy, maxBatchRows } = config;
  if (!(Number.isSafeInteger(maxBatchRows) && maxBatchRows >= 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `maxBatchRows must be a positive integer, got ${maxBatchRows}`);
  const agingRate = config.agingRate ?? 0.5;
  const weights = config.weights ?? {};
  for (const [t, w] of Object.entries(weights))
    if (!(w > 0 && Number.isFinite(w)))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `weight of tenant '${t}' must be a positive number, got ${w}`);
  const book: LaneBook = createLaneBook(config.capacity);
  const profile: LatencyProfile = createProfile({ priorMs: config.priorMs });
  const models = new Map<string, ModelState>();
  const running = new Map<number, DeviceRun>();
  /** Lane id -> the run in it. */
  const busyLanes = new Map<number, DeviceRun>();
  const usedMs = new Map<string, number>();
  let seq = 0;
  let runSeq = 0;
  let peak = 0;

  const weight = (t: string) => weights[t] ?? 1;
  const queued = () => {
    let n = 0;
    for (const m of models.values()) n += m.queue.length;
    return n;
  };

  function modelOf(key: string): ModelState {
    const m = models.get(key);
    if (!m) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `model '${key}' is not resident on this device`, { key });
    return m;
  }

  const byClassThenAge = (a: DeviceRequest, b: DeviceRequest) =>
    (a.priority === b.priority ? 0 : a.priority === 'realtime' ? -1 : 1) || a.enqueuedAt - b.enqueuedAt || a.id - b.id;

  /** A request's score under a policy, lowest first (the scores device-policy.ts ranks models by, per request). */
  function requestScore(p: DevicePolicy, r: DeviceRequest, now: number): number {
    if (p === 'srtf') return predict(profile, r.key, r.rows) - agingRate * (now - r.enqueuedAt);
    if (p === 'fair') return (usedMs.get(r.tenant) ?? 0) / weight(r.tenant);
    return r.enqueuedAt;
  }

  const sortUnder = (p: DevicePolicy, rs: DeviceRequest[], now: number): DeviceRequest[] => {
    const scored = rs.map((r) => ({ r, s: requestScore(p, r, now) }));
    scored.sort(
      (a, b) =>
        (a.r.priority === b.r.priority ? 0 : a.r.priority === 'realtime' ? -1 : 1) ||
        a.s - b.s ||
        byClassThenAge(a.r, b.r),
    );
    return scored.map((x) => x.r);
  };

  /**
   * A model's queue in the order it runs: realtime before besteffort, then oldest; requests that carry a policy of
   * their own (their function's) are ordered under it among those with the same policy, and the executor's policy
   * picks among the heads of those groups.
   */
  function ordered(m: ModelState, now: number): DeviceRequest[] {
    if (!m.queue.some((r) => r.policy !== undefined)) return [...m.queue].sort(byClassThenAge);
    const groups = new Map<DevicePolicy | undefined, DeviceRequest[]>();
    for (const r of m.queue) {
      const g = groups.get(r.policy);
      if (g) g.push(r);
      else groups.set(r.policy, [r]);
    }
    const lists = [...groups].map(([p, rs]) => (p === undefined ? rs.sort(byClassThenAge) : sortUnder(p, rs, now)));
    // Merge: each step takes the best head under the executor's policy.
    const out: DeviceRequest[] = [];
    const at = lists.map(() => 0);
    for (;;) {
      let best = -1;
      for (let i = 0; i < lists.length; i++) {
        const h = lists[i]![at[i]!];
        if (!h) continue;
        if (best < 0) {
          best = i;
          continue;
        }
        const b = lists[best]![at[best]!]!;
        const c =
          (h.priority === b.priority ? 0 : h.priority === 'realtime' ? -1 : 1) ||
          requestScore(policy, h, now) - requestScore(policy, b, now) ||
          byClassThenAge(h, b);
        if (c < 0) best = i;
      }
      if (best < 0) return out;
      out.push(lists[best]![at[best]!++]!);
    }
  }

  function activeTenants(): Set<string> {
    const s = new Set<string>();
    for (const m of models.values()) for (const r of m.queue) s.add(r.tenant);
    for (const r of running.values()) for (const q of r.requests) s.add(q.tenant);
    return s;
  }

  /** A tenant that comes back after idling starts at the least normalized usage of the active ones: no banked credit. */
  function activate(tenant: string): void {
    const active = activeTenants();
    if (active.has(tenant)) return;
    let least = Infinity;
    for (const t of active) least = Math.min(least, (usedMs.get(t) ?? 0) / weight(t));
    if (Number.isFinite(least)) usedMs.set(tenant, Math.max(usedMs.get(tenant) ?? 0, least * weight(tenant)));
  }

  function charge(run: DeviceRun, ms: number): void {
    for (const r of run.requests)
      usedMs.set(r.tenant, (usedMs.get(r.tenant) ?? 0) + (ms * r.rows) / Math.max(1, run.rows));
  }

  function batchOf(m: ModelState, queue: DeviceRequest[]): DeviceRequest[] {
    const head = queue[0]!;
    if (!m.batchable) return [head];
    const fits = queue.filter((r) => r.group === head.group && r.priority === head.priority);
    const d = decideBatch(
      fits.map((r) => ({ items: r.rows, enqueuedAt: r.enqueuedAt })),
      { maxBatchSize: maxBatchRows, maxQueueDelayMs: 0 },
      maxBatchRows,
      head.enqueuedAt,
    );
    return fits.slice(0, 'take' in d ? Math.max(1, d.take) : 1);
  }

  function neverFits(m: ModelState): TensorshareError {
    const most = largestPossibleLane(book);
    return new TensorshareError(
      'ERR_RESOURCE_EXHAUSTED',
      `a run of ${m.key} needs a lane of ${m.ephemeralBytes} ephemeral bytes but at most ${Math.max(0, most)} of the device's ${book.capacity} can ever be free beside the resident models (${persistentBytes(book)} persistent bytes)`,
      { key: m.key, need: m.ephemeralBytes, most: Math.max(0, most), capacity: book.capacity },
    );
  }

  return {
    policy,
    addModel(key: string, spec: DeviceModelSpec): void {
      if (models.has(key))
        throw new TensorshareError('ERR_PRECONDITION', `model '${key}' is already resident on this device`, { key });
      addPersistent(book, key, spec.persistentBytes);
      models.set(key, { ...spec, key, queue: [], waitingForLane: false });
    },
    /** A larger ephemeral peak was measured: later lane assignments use it. */
    updateEphemeral(key: string, ephemeralBytes: number): void {
      const m = modelOf(key);
      m.ephemeralBytes = Math.max(m.ephemeralBytes, ephemeralBytes);
    },
    /** The model leaves the device: its queued requests come back (the caller fails them); a run in flight finishes. */
    removeModel(key: string): DeviceRequest[] {
      const m = models.get(key);
      if (!m) return [];
      models.delete(key);
      removePersistent(book, key);
      if (!m.running) releaseLane(book, key);
      return m.queue.splice(0);
    },
    has: (key: string) => models.has(key),
    enqueue(init: DeviceRequestInit, now: number): DeviceRequest {
      const m = modelOf(init.key);
      if (!(Number.isSafeInteger(init.rows) && init.rows >= 1))
        throw new TensorshareError('ERR_INVALID_ARGUMENT', `a request must have at least one row, got ${init.rows}`);
      const tenant = init.tenant ?? init.key;
      activate(tenant);
      const { policy: own, ...rest } = init;
      const r: DeviceRequest = { ...rest, tenant, id: ++seq, enqueuedAt: now, ...(own ? { policy: own } : {}) };
      m.queue.push(r);
      return r;
    },
    /** Takes a queued request out (its caller left); false if it is not queued. */
    remove(id: number): boolean {
      for (const m of models.values()) {
        const i = m.queue.findIndex((r) => r.id === id);
        if (i >= 0) {
          m.queue.splice(i, 1);
          if (m.queue.length === 0 && !m.running) releaseLane(book, m.key);
          return true;
        }
      }
      return false;
    },
    next(now: number): LaneDecision {
      const decision: LaneDecision = { start: [], rejected: [] };
      const cands: Candidate[] = [];
      const heads = new Map<string, DeviceRequest[]>();
      for (const m of models.values()) {
        m.waitingForLane = false;
        if (m.running || m.queue.length === 0) continue;
        if (m.ephemeralBytes > largestPossibleLane(book)) {
          const error = neverFits(m);
          for (const request of m.queue.splice(0)) decision.rejected.push({ request, error });
          releaseLane(book, m.key);
          continue;
        }
        const q = ordered(m, now);
        const head = q[0]!;
        heads.set(m.key, q);
        cands.push({
          key: m.key,
          priority: head.priority,
          enqueuedAt: head.enqueuedAt,
          predictedMs: predict(
            profile,
            m.key,
            batchOf(m, q).reduce((a, r) => a + r.rows, 0),
          ),
          tenant: head.tenant,
        });
      }
      let realtimeActive = [...running.values()].some((r) => r.requests[0]!.priority === 'realtime');
      for (const m of models.values()) if (m.queue.some((r) => r.priority === 'realtime')) realtimeActive = true;
      const ranked = rankCandidates(policy, cands, {
        now,
        agingRate,
        usedMs: (t) => usedMs.get(t) ?? 0,
        weight,
      });
      let blocked = false;
      for (const c of ranked) {
        if (c.priority === 'besteffort' && realtimeActive) break;
        if (!colocates(policy) && running.size > 0) break;
        const m = models.get(c.key)!;
        let lane = laneOf(book, m.key);
        if (!lane) {
          const choice = findLane(book, m.ephemeralBytes);
          if (choice && (!blocked || choice.kind === 'existing')) lane = assignLane(book, m.key, m.ephemeralBytes);
        }
        if (!lane) {
          m.waitingForLane = true;
          blocked = true;
          continue;
        }
        if (busyLanes.has(lane.id)) continue;
        const requests = batchOf(m, heads.get(m.key)!);
        const ids = new Set(requests.map((r) => r.id));
        m.queue = m.queue.filter((r) => !ids.has(r.id));
        const rows = requests.reduce((a, r) => a + r.rows, 0);
        const run: DeviceRun = {
          id: ++runSeq,
          key: m.key,
          lane: lane.id,
          requests,
          rows,
          startedAt: now,
          predictedMs: predict(profile, m.key, rows),
          concurrent: running.size + 1,
        };
        m.running = run;
        running.set(run.id, run);
        busyLanes.set(lane.id, run);
        peak = Math.max(peak, running.size);
        charge(run, run.predictedMs);
        decision.start.push(run);
      }
      return decision;
    },
    complete(run: DeviceRun, serviceMs: number): void {
      if (!running.delete(run.id)) return;
      busyLanes.delete(run.lane);
      observe(profile, run.key, run.rows, serviceMs);
      charge(run, serviceMs - run.predictedMs);
      const m = models.get(run.key);
      if (!m) {
        releaseLane(book, run.key);
        return;
      }
      m.running = undefined;
      const othersWait = [...models.values()].some((x) => x !== m && x.waitingForLane);
      if (m.queue.length === 0 || othersWait) releaseLane(book, m.key);
    },
    snapshot(): LaneSnapshot {
      return {
        capacity: book.capacity,
        persistentBytes: persistentBytes(book),
        freeBytes: freeBytes(book),
        lanes: book.lanes.map((l) => ({
          id: l.id,
          size: l.size,
          models: [...l.jobs.keys()],
          busy: busyLanes.has(l.id),
        })),
        running: running.size,
        queued: queued(),
        peakConcurrent: peak,
      };
    },
    /** Realtime requests queued and the oldest one's wait at `now` (the fallback's sample), and the other counts. */
    realtimeLoad(now: number): RealtimeLoad {
      let realtimeQueued = 0;
      let besteffortQueued = 0;
      let oldest = Infinity;
      let oldestBesteffort = Infinity;
      for (const m of models.values())
        for (const r of m.queue)
          if (r.priority === 'realtime') {
            realtimeQueued++;
            oldest = Math.min(oldest, r.enqueuedAt);
          } else {
            besteffortQueued++;
            oldestBesteffort = Math.min(oldestBesteffort, r.enqueuedAt);
          }
      let realtimeRunning = 0;
      for (const r of running.values()) if (r.requests[0]!.priority === 'realtime') realtimeRunning++;
      return {
        realtimeQueued,
        realtimeOldestWaitMs: realtimeQueued ? Math.max(0, now - oldest) : 0,
        realtimeRunning,
        besteffortQueued,
        besteffortOldestWaitMs: besteffortQueued ? Math.max(0, now - oldestBesteffort) : 0,
      };
    },
    /** Predicted service time of a run of `rows` of a model, ms (the srtf profile). */
    predictMs: (key: string, rows: number) => predict(profile, key, rows),
    usedMs: (tenant: string) => usedMs.get(tenant) ?? 0,
  };
}
