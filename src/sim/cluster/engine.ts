// The cluster simulation: nodes with memory budgets, one tensor store each
// (shared segments counted once), instances that serve one request at a time,
// and the product's own decision code on a simulated clock:
// - placement of a new instance: the placement scorer (src/placement) ranks
//   the nodes that fit; `similarity` takes its first, `random` any of them,
//   `least-loaded` the one with the least memory in use;
// - keep-alive and reclaim of the store: the daemon's eviction policy
//   (src/daemon/policy), called as the daemon calls it: `order` under
//   pressure with the daemon's victim selection (forward, then drop victims
//   not needed), `expired` at the last release and on every reclaimer tick,
//   `onAccess` at each open, `onEvict` per victim.
// State lives in typed arrays indexed by node x segment and node x model;
// an invocation costs O(log) heap work, a placement O(nodes x segments).
import { TensorshareError } from '../../errors.js';
import {
  policy as policyOf,
  type Candidate,
  type Policy,
  type PolicyContext,
  type PolicyName,
} from '../../daemon/policy/index.js';
import { rankNodes, type NodeScore } from '../../placement/scorer.js';
import { Xoshiro128 } from '../../prng.js';
import type { Catalog } from './catalog.js';
import type { ModelCosts } from './costs.js';
import { createTimeHeap } from './heap.js';
import type { TraceSource } from './trace.js';

export const PLACEMENTS = ['random', 'least-loaded', 'similarity'] as const;
export type PlacementName = (typeof PLACEMENTS)[number];

export interface ClusterOptions {
  nodes: number;
  nodeMemoryBytes: number;
  placement: PlacementName;
  policy: PolicyName;
  /** The daemon's keep-alive window of `ttl` (its default 60 s). */
  ttlMs: number;
  /** The daemon's reclaimer period (its default 5 s). */
  reclaimIntervalMs: number;
  /** An idle instance stops after this long; its lease on the model ends then. */
  instanceIdleMs: number;
  /**
   * SLO of an invocation: its warm execution time plus a start delay of at
   * most this multiple of the model's start from a resident store (default
   * 1.5: a start that must copy a large model misses, one from the store meets).
   */
  sloStartFactor: number;
  /** Bytes per ms of the repository -> store copy (from the benchmarks). */
  repositoryBytesPerMs: number;
  /** Bytes per ms of a fetch for bytes no local repository holds (peers or remote storage). */
  remoteBytesPerMs: number;
  seed: string;
}

export interface UnitSnapshot {
  key: string;
  segments: { hash: string; bytes: number }[];
  leases: number;
  opens: number;
  lastUse: number;
  loadedAt: number;
  lastRelease: number;
  costMs: number;
  priority: number;
}

/** One node as the daemon would see it: resident units, repository contents, the store's budget. */
export interface NodeSnapshot {
  node: string;
  /** Node memory less the instances' private memory (for a placement: less the new instance's too). */
  storeBudget: number;
  inflation: number;
  units: UnitSnapshot[];
  repository: string[];
}

/** Hooks for tests that check the decisions against the live components. */
export interface Observer {
  beforePlacement?(t: number, fn: number, nodes: () => NodeSnapshot[]): void;
  placed?(d: {
    t: number;
    fn: number;
    node: string | undefined;
    ranked: readonly NodeScore[];
    victims: string[];
  }): void;
  beforeReclaim?(t: number, nodes: () => NodeSnapshot[]): void;
  expired?(d: { t: number; node: string; key: string; at: 'release' | 'reclaim' }): void;
}

export interface ClusterCounters {
  invocations: number;
  warm: number;
  /** Starts on a node whose store held the whole model. */
  residentStarts: number;
  /** Starts that copied bytes into the store. */
  coldStarts: number;
  rejected: number;
  sloMet: number;
  bytesFromRepository: number;
  bytesFromRemote: number;
  evictions: number;
  evictedBytes: number;
  expirations: number;
  instancesStarted: number;
  /** Heap events besides invocations (completions, instance stops) and reclaimer ticks. */
  otherEvents: number;
  /** Time-weighted mean and peak of the cluster's memory in use (stores + instances). */
  meanMemoryBytes: number;
  peakMemoryBytes: number;
  meanStoreBytes: number;
  /** Store bytes with every model resident once per node it is on, without sharing (what private copies would hold), time-weighted. */
  meanLogicalStoreBytes: number;
  simulatedMs: number;
}

const COMPLETE = 0;
const STOP = 1;

export function simulateCluster(
  catalog: Catalog,
  costs: readonly ModelCosts[],
  trace: TraceSource,
  opts: ClusterOptions,
  hooks: { observer?: Observer; onProgress?: (invocations: number) => void } = {},
): ClusterCounters {
  const N = opts.nodes;
  if (!Number.isInteger(N) || N < 1)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `nodes must be a positive integer, got ${N}`);
  if (!(opts.nodeMemoryBytes > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `node memory must be positive, got ${opts.nodeMemoryBytes}`);
  if (!(PLACEMENTS as readonly string[]).includes(opts.placement))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `unknown placement '${opts.placement}': use one of ${PLACEMENTS.join(', ')}`,
    );
  const pol: Policy = policyOf(opts.policy);
  const { observer, onProgress } = hooks;
  const models = catalog.models;
  const M = models.length;
  if (costs.length !== M)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${costs.length} cost rows for ${M} models`);
  const segBytes = catalog.segmentBytes;
  const S = segBytes.length;
  const segIndex = new Map(catalog.segmentHash.map((h, i) => [h, i]));
  const names = Array.from({ length: N }, (_, n) => `node-${String(n).padStart(String(N - 1).length, '0')}`);
  const nodeIndex = new Map(names.map((x, i) => [x, i]));
  const modelIndex = new Map(models.map((m, i) => [m.name, i]));
  const rng = new Xoshiro128(`${opts.seed}:placement`);

  // Nodes
  const storeUsed = new Float64Array(N);
  const privateUsed = new Float64Array(N);
  const pinned = new Float64Array(N);
  const inflation = new Float64Array(N);
  const logicalUsed = new Float64Array(N);
  // Node x segment
  const segUsers = new Int32Array(N * S);
  const segRef = new Int32Array(N * S);
  const inRepo = new Uint8Array(N * S);
  // Node x model (a unit: the model in fast-open mode on that node)
  const resident = new Uint8Array(N * M);
  const leases = new Int32Array(N * M);
  const opens = new Int32Array(N * M);
  const lastUse = new Float64Array(N * M);
  const loadedAt = new Float64Array(N * M);
  const lastRelease = new Float64Array(N * M);
  const costMs = new Float64Array(N * M);
  const priority = new Float64Array(N * M);
  const residentUnits: number[][] = Array.from({ length: N }, () => []);
  const unitPos = new Int32Array(N * M).fill(-1);

  // Instances
  let cap = 1024;
  let instNode = new Int32Array(cap);
  let instFn = new Int32Array(cap);
  let instIdleSince = new Float64Array(cap);
  let instIdle = new Uint8Array(cap);
  let prev = new Int32Array(cap);
  let next = new Int32Array(cap);
  const freeIds: number[] = [];
  let nextId = 0;
  const idleHead = new Int32Array(M).fill(-1);
  const heap = createTimeHeap(4096);

  const c: ClusterCounters = {
    invocations: 0,
    warm: 0,
    residentStarts: 0,
    coldStarts: 0,
    rejected: 0,
    sloMet: 0,
    bytesFromRepository: 0,
    bytesFromRemote: 0,
    evictions: 0,
    evictedBytes: 0,
    expirations: 0,
    instancesStarted: 0,
    otherEvents: 0,
    meanMemoryBytes: 0,
    peakMemoryBytes: 0,
    meanStoreBytes: 0,
    meanLogicalStoreBytes: 0,
    simulatedMs: 0,
  };
  let usedTotal = 0;
  let storeTotal = 0;
  let logicalTotal = 0;
  let areaUsed = 0;
  let areaStore = 0;
  let areaLogical = 0;
  let lastT = 0;
  const advance = (t: number) => {
    const dt = t - lastT;
    if (dt > 0) {
      areaUsed += usedTotal * dt;
      areaStore += storeTotal * dt;
      areaLogical += logicalTotal * dt;
      lastT = t;
    }
  };
  const addPrivate = (n: number, b: number) => {
    privateUsed[n]! += b;
    usedTotal += b;
    if (usedTotal > c.peakMemoryBytes) c.peakMemoryBytes = usedTotal;
  };
  const addStore = (n: number, b: number) => {
    storeUsed[n]! += b;
    storeTotal += b;
    usedTotal += b;
    if (usedTotal > c.peakMemoryBytes) c.peakMemoryBytes = usedTotal;
  };

  const ctx: PolicyContext = { now: 0, ttlMs: opts.ttlMs, inflation: 0 };
  const ctxAt = (n: number, t: number): PolicyContext => {
    ctx.now = t;
    ctx.inflation = inflation[n]!;
    return ctx;
  };
  /** The daemon's toCandidate for unit u = n*M + m. */
  const candidate = (u: number, into?: Candidate): Candidate => {
    const m = u % M;
    const o = into ?? ({} as Candidate);
    o.key = models[m]!.name;
    o.bytes = models[m]!.bytes;
    o.hits = opens[u]!;
    o.lastUse = lastUse[u]!;
    o.loadedAt = loadedAt[u]!;
    o.lastRelease = lastRelease[u]!;
    o.costMs = costMs[u]!;
    o.priority = priority[u]!;
    return o;
  };
  const scratch = {} as Candidate;
  // A policy whose order is empty evicts nothing (never): then no resident byte counts as free.
  const evicts = pol.order([candidate(0)], ctxAt(0, 0)).length > 0;

  function evictUnit(n: number, u: number, t: number) {
    inflation[n] = pol.onEvict(candidate(u), ctxAt(n, t));
    const m = u % M;
    const segs = models[m]!.segments;
    let freed = 0;
    for (let i = 0; i < segs.length; i++) {
      const k = n * S + segs[i]!;
      if (--segUsers[k]! === 0) freed += segBytes[segs[i]!]!;
    }
    addStore(n, -freed);
    logicalUsed[n]! -= models[m]!.bytes;
    logicalTotal -= models[m]!.bytes;
    resident[u] = 0;
    const list = residentUnits[n]!;
    const pos = unitPos[u]!;
    const last = list.pop()!;
    if (last !== u) {
      list[pos] = last;
      unitPos[last] = pos;
    }
    unitPos[u] = -1;
    c.evictions++;
    c.evictedBytes += freed;
  }

  // Scratch for eviction planning: chosen victims per segment.
  const chosenCnt = new Int32Array(S);
  const protect = new Uint8Array(S);

  /** The daemon's planEviction over this node's units (see src/daemon/residency.ts); returns victims or undefined. */
  function planEviction(n: number, m: number, need: number, budget: number, t: number): number[] | undefined {
    const available = budget - storeUsed[n]!;
    if (need <= available) return [];
    const list = residentUnits[n]!;
    const cands: Candidate[] = [];
    for (const u of list) if (leases[u] === 0) cands.push(candidate(u));
    const order = pol.order(cands, ctxAt(n, t)).map((x) => n * M + modelIndex.get(x.key)!);
    const segs = models[m]!.segments;
    for (let i = 0; i < segs.length; i++) protect[segs[i]!] = 1;
    let freed = 0;
    const add = (u: number, sign: 1 | -1) => {
      const us = models[u % M]!.segments;
      for (let i = 0; i < us.length; i++) {
        const s = us[i]!;
        if (sign < 0 && !protect[s] && chosenCnt[s] === segUsers[n * S + s]) freed -= segBytes[s]!;
        chosenCnt[s]! += sign;
        if (sign > 0 && !protect[s] && chosenCnt[s] === segUsers[n * S + s]) freed += segBytes[s]!;
      }
    };
    for (const u of order) add(u, 1);
    let victims: number[] | undefined;
    if (available + freed >= need) {
      for (const u of order) add(u, -1);
      victims = [];
      for (const u of order) {
        victims.push(u);
        add(u, 1);
        if (available + freed >= need) break;
      }
      for (let i = victims.length - 1; i >= 0; i--) {
        const u = victims[i]!;
        add(u, -1);
        if (available + freed >= need) victims.splice(i, 1);
        else add(u, 1);
      }
      for (const u of victims) add(u, -1);
    } else for (const u of order) add(u, -1);
    for (let i = 0; i < segs.length; i++) protect[segs[i]!] = 0;
    return victims;
  }

  // Placement: one NodeHoldings per node, its free bytes set before each ranking.
  const holdings = names.map((name, n) => {
    const h = {
      node: name,
      freeBytes: 0,
      hasResident: (hash: string) => segUsers[n * S + segIndex.get(hash)!]! > 0,
      hasInRepository: (hash: string) => inRepo[n * S + segIndex.get(hash)!] === 1,
    };
    return h;
  });
  /** The store budget of n with one more instance of model m. */
  const storeBudget = (n: number, m: number) => opts.nodeMemoryBytes - privateUsed[n]! - costs[m]!.instanceBytes;
  /** What the daemon could free on n for m: all unreferenced bytes but m's own resident segments. */
  function freeFor(n: number, m: number): number {
    if (!evicts) return storeBudget(n, m) - storeUsed[n]!;
    const segs = models[m]!.segments;
    let protectedUnpinned = 0;
    for (let i = 0; i < segs.length; i++) {
      const k = n * S + segs[i]!;
      if (segUsers[k]! > 0 && segRef[k] === 0) protectedUnpinned += segBytes[segs[i]!]!;
    }
    return storeBudget(n, m) - pinned[n]! - protectedUnpinned;
  }

  function snapshots(forModel: number | undefined): NodeSnapshot[] {
    return names.map((node, n) => ({
      node,
      storeBudget: forModel === undefined ? opts.nodeMemoryBytes - privateUsed[n]! : storeBudget(n, forModel),
      inflation: inflation[n]!,
      units: residentUnits[n]!.map((u) => {
        const m = models[u % M]!;
        return {
          key: m.name,
          segments: [...m.segments].map((s) => ({ hash: catalog.segmentHash[s]!, bytes: segBytes[s]! })),
          leases: leases[u]!,
          opens: opens[u]!,
          lastUse: lastUse[u]!,
          loadedAt: loadedAt[u]!,
          lastRelease: lastRelease[u]!,
          costMs: costMs[u]!,
          priority: priority[u]!,
        };
      }),
      repository: catalog.segmentHash.filter((_, s) => inRepo[n * S + s] === 1),
    }));
  }

  function choose(m: number): { node: number; ranked: NodeScore[] } | undefined {
    for (let n = 0; n < N; n++) holdings[n]!.freeBytes = freeFor(n, m);
    const ranked = rankNodes(models[m]!.tensors, holdings);
    if (ranked.length === 0) return undefined;
    let pick: NodeScore;
    if (opts.placement === 'random') pick = ranked[Math.floor(rng.nextFloat() * ranked.length)]!;
    else {
      // least-loaded: all fitting nodes; similarity: the scorer's best, its ties
      // (same resident and repository bytes, e.g. a model no node holds) by load.
      const top = ranked[0]!;
      const tied = (s: NodeScore) =>
        opts.placement === 'least-loaded' ||
        (s.residentBytes === top.residentBytes && s.repositoryBytes === top.repositoryBytes);
      let best = Number.POSITIVE_INFINITY;
      pick = top;
      for (const s of ranked) {
        if (!tied(s)) break;
        const n = nodeIndex.get(s.node)!;
        const used = storeUsed[n]! + privateUsed[n]!;
        if (used < best || (used === best && n < nodeIndex.get(pick.node)!)) {
          best = used;
          pick = s;
        }
      }
    }
    return { node: nodeIndex.get(pick.node)!, ranked };
  }

  function growInstances() {
    cap *= 2;
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    instNode = g32(instNode);
    instFn = g32(instFn);
    prev = g32(prev);
    next = g32(next);
    const f = new Float64Array(cap);
    f.set(instIdleSince);
    instIdleSince = f;
    const i8 = new Uint8Array(cap);
    i8.set(instIdle);
    instIdle = i8;
  }

  const unlinkIdle = (i: number) => {
    const f = instFn[i]!;
    if (prev[i]! >= 0) next[prev[i]!] = next[i]!;
    else idleHead[f] = next[i]!;
    if (next[i]! >= 0) prev[next[i]!] = prev[i]!;
    instIdle[i] = 0;
  };

  let placedNode = -1;
  /** Makes room for an instance of fn on the chosen node (placedNode); returns its start delay, or -1 when no node fits. */
  function startInstance(fn: number, t: number): number {
    const m = fn;
    if (observer?.beforePlacement) observer.beforePlacement(t, fn, () => snapshots(m));
    const choice = choose(m);
    if (!choice) {
      observer?.placed?.({ t, fn, node: undefined, ranked: [], victims: [] });
      return -1;
    }
    const n = choice.node;
    placedNode = n;
    const u = n * M + m;
    const segs = models[m]!.segments;
    let need = 0;
    let fromRepo = 0;
    for (let i = 0; i < segs.length; i++) {
      const k = n * S + segs[i]!;
      if (segUsers[k] === 0) {
        need += segBytes[segs[i]!]!;
        if (inRepo[k]) fromRepo += segBytes[segs[i]!]!;
      }
    }
    const victims = planEviction(n, m, resident[u] ? 0 : need, storeBudget(n, m), t);
    if (!victims)
      throw new TensorshareError('ERR_INTERNAL', `placement chose ${names[n]} but the store cannot make room`);
    for (const v of victims) evictUnit(n, v, t);
    observer?.placed?.({
      t,
      fn,
      node: names[n],
      ranked: choice.ranked,
      victims: victims.map((v) => models[v % M]!.name),
    });
    const loadMs = fromRepo / opts.repositoryBytesPerMs + (need - fromRepo) / opts.remoteBytesPerMs;
    if (!resident[u]) {
      let added = 0;
      for (let i = 0; i < segs.length; i++) {
        const k = n * S + segs[i]!;
        if (segUsers[k]!++ === 0) added += segBytes[segs[i]!]!;
        inRepo[k] = 1;
      }
      addStore(n, added);
      logicalUsed[n]! += models[m]!.bytes;
      logicalTotal += models[m]!.bytes;
      resident[u] = 1;
      loadedAt[u] = t;
      costMs[u] = loadMs;
      unitPos[u] = residentUnits[n]!.length;
      residentUnits[n]!.push(u);
      if (need > 0) c.coldStarts++;
      else c.residentStarts++;
      c.bytesFromRepository += fromRepo;
      c.bytesFromRemote += need - fromRepo;
    } else c.residentStarts++;
    if (leases[u]!++ === 0) {
      let p = 0;
      for (let i = 0; i < segs.length; i++) if (segRef[n * S + segs[i]!]!++ === 0) p += segBytes[segs[i]!]!;
      pinned[n]! += p;
    }
    opens[u]!++;
    lastUse[u] = t;
    priority[u] = pol.onAccess(candidate(u), ctxAt(n, t));
    addPrivate(n, costs[m]!.instanceBytes);
    c.instancesStarted++;
    return costs[m]!.residentStartMs + loadMs;
  }

  function newInstance(fn: number, node: number): number {
    let i: number;
    if (freeIds.length) i = freeIds.pop()!;
    else {
      if (nextId === cap) growInstances();
      i = nextId++;
    }
    instNode[i] = node;
    instFn[i] = fn;
    instIdle[i] = 0;
    prev[i] = next[i] = -1;
    return i;
  }

  function stopInstance(i: number, t: number) {
    const n = instNode[i]!;
    const m = instFn[i]!;
    const u = n * M + m;
    unlinkIdle(i);
    freeIds.push(i);
    addPrivate(n, -costs[m]!.instanceBytes);
    lastRelease[u] = lastUse[u] = t;
    if (--leases[u]! === 0) {
      const segs = models[m]!.segments;
      let p = 0;
      for (let k = 0; k < segs.length; k++) if (--segRef[n * S + segs[k]!]! === 0) p += segBytes[segs[k]!]!;
      pinned[n]! -= p;
      if (pol.expired(candidate(u, scratch), ctxAt(n, t))) {
        observer?.expired?.({ t, node: names[n]!, key: models[m]!.name, at: 'release' });
        evictUnit(n, u, t);
        c.expirations++;
      }
    }
  }

  function reclaim(t: number) {
    if (observer?.beforeReclaim) observer.beforeReclaim(t, () => snapshots(undefined));
    for (let n = 0; n < N; n++) {
      const list = residentUnits[n]!;
      let expired: number[] | undefined;
      for (const u of list) {
        if (leases[u] === 0 && pol.expired(candidate(u, scratch), ctxAt(n, t))) {
          expired ??= [];
          expired.push(u);
        }
      }
      if (expired)
        for (const u of expired) {
          observer?.expired?.({ t, node: names[n]!, key: models[u % M]!.name, at: 'reclaim' });
          evictUnit(n, u, t);
          c.expirations++;
        }
    }
  }

  let nextTick = opts.reclaimIntervalMs;
  /** Runs completions, instance stops and reclaimer ticks up to time t (inclusive). */
  function runUntil(t: number) {
    for (;;) {
      const ht = heap.peekTime();
      if (ht > t && nextTick > t) return;
      if (ht <= nextTick) {
        const id = heap.peekId();
        heap.pop();
        advance(ht);
        c.otherEvents++;
        const i = id >> 1;
        if ((id & 1) === COMPLETE) {
          const f = instFn[i]!;
          instIdle[i] = 1;
          instIdleSince[i] = ht;
          prev[i] = -1;
          next[i] = idleHead[f]!;
          if (next[i]! >= 0) prev[next[i]!] = i;
          idleHead[f] = i;
          heap.push(ht + opts.instanceIdleMs, (i << 1) | STOP);
        } else if (instIdle[i] && instIdleSince[i]! + opts.instanceIdleMs === ht) stopInstance(i, ht);
      } else {
        advance(nextTick);
        c.otherEvents++;
        reclaim(nextTick);
        nextTick += opts.reclaimIntervalMs;
      }
    }
  }

  const times = new Float64Array(65_536);
  const fns = new Int32Array(65_536);
  let t = 0;
  for (;;) {
    const k = trace.next(times, fns);
    if (k === 0) break;
    for (let j = 0; j < k; j++) {
      t = times[j]!;
      const fn = fns[j]!;
      runUntil(t);
      advance(t);
      c.invocations++;
      const exec = costs[fn]!.execMs;
      let i = idleHead[fn]!;
      let delay = 0;
      if (i >= 0) {
        unlinkIdle(i);
        c.warm++;
      } else {
        delay = startInstance(fn, t);
        if (delay < 0) {
          c.rejected++;
          continue;
        }
        i = newInstance(fn, placedNode);
      }
      if (delay <= opts.sloStartFactor * costs[fn]!.residentStartMs) c.sloMet++;
      heap.push(t + delay + exec, (i << 1) | COMPLETE);
    }
    onProgress?.(c.invocations);
  }
  runUntil(t);
  c.simulatedMs = t;
  advance(t);
  if (t > 0) {
    c.meanMemoryBytes = areaUsed / t;
    c.meanStoreBytes = areaStore / t;
    c.meanLogicalStoreBytes = areaLogical / t;
  }
  return c;
}
