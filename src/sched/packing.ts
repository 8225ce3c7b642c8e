// Where models go on a set of GPUs (one executor each): best-fit bin
// packing over two dimensions, memory and load, so that small models share
// a device instead of each leaving most of one idle (Clipper/Nexus-style
// consolidation, the "8.4.4" fragmentation argument), and replicas of a hot
// model on further devices when one copy cannot carry its load or misses its
// SLO, removed again when the load falls.
//
// Memory of a device is its models' persistent bytes plus Salus lane memory
// (lanes.ts): sum P + max E, the least that lets every resident model run
// (one lane; more lanes when the memory allows). Load is the fraction of the
// device's time a replica needs (measured: device-ms per second / 1000,
// split evenly between replicas). A device takes a model when both fit;
// best fit is the device with the least memory left after it (ties: least
// load left), so large holes stay whole for large models. Pure: sizes and
// loads in, a placement out; moving a model is unload on one executor and
// load on another from the host store (the daemon's job).
import { TensorshareError } from '../errors.js';

export interface PackDevice {
  index: number;
  /** Bytes for resident models (the device's budget). */
  capacity: number;
}

export interface PackModel {
  key: string;
  persistentBytes: number;
  ephemeralBytes: number;
  /** Device-time fraction the model needs in all (1 = one whole device busy), measured. */
  load: number;
  /** Replicas now (0 when not placed). */
  replicas?: number;
  /** Queueing p95 against the SLO, when the model has one: more than 1 asks for a replica. */
  sloPressure?: number;
}

export interface PackingOptions {
  /** Load a device may carry (headroom for bursts). Default 0.8. */
  maxLoad?: number;
  /** A model's replicas go when each would carry less than this share of maxLoad with one fewer. Default 0.5. */
  shrinkBelow?: number;
}

/** Device index -> model keys on it (a key on several devices is a model with replicas). */
export type Placement = Map<number, string[]>;

export interface PackResult {
  placement: Placement;
  /** Replicas that found no device. */
  unplaced: { key: string; replica: number }[];
}

const maxLoadOf = (o: PackingOptions) => o.maxLoad ?? 0.8;

function check(devices: readonly PackDevice[], models: readonly PackModel[], o: PackingOptions): void {
  const bad = (m: string) => new TensorshareError('ERR_INVALID_ARGUMENT', m);
  const ml = maxLoadOf(o);
  if (!(ml > 0 && ml <= 1)) throw bad(`maxLoad must be in (0, 1], got ${ml}`);
  const seen = new Set<number>();
  for (const d of devices) {
    if (seen.has(d.index)) throw bad(`device ${d.index} is listed twice`);
    seen.add(d.index);
    if (!(Number.isSafeInteger(d.capacity) && d.capacity >= 0))
      throw bad(`device ${d.index}: capacity must be a whole number of bytes, got ${d.capacity}`);
  }
  for (const m of models) {
    for (const [k, v] of [
      ['persistentBytes', m.persistentBytes],
      ['ephemeralBytes', m.ephemeralBytes],
    ] as const)
      if (!(Number.isSafeInteger(v) && v >= 0))
        throw bad(`model ${m.key}: ${k} must be a whole number of bytes, got ${v}`);
    if (!(m.load >= 0 && Number.isFinite(m.load))) throw bad(`model ${m.key}: load must be >= 0, got ${m.load}`);
  }
}

/** How many replicas a model should have: enough that each carries at most maxLoad, one more under SLO pressure, fewer when load fell. */
export function replicasWanted(m: PackModel, o: PackingOptions = {}): number {
  const ml = maxLoadOf(o);
  const byLoad = Math.max(1, Math.ceil(m.load / ml - 1e-9));
  const now = m.replicas ?? 0;
  if (now === 0) return byLoad;
  if ((m.sloPressure ?? 0) > 1) return Math.max(byLoad, now + 1);
  // Keep the replicas while the load would make one fewer run hot; drop one when it would not.
  if (now > byLoad && m.load / (now - 1) < ml * (o.shrinkBelow ?? 0.5)) return now - 1;
  return Math.max(byLoad, now);
}

interface Bin {
  d: PackDevice;
  models: PackModel[];
  load: number;
}

/** sum P + max E of a device's models. */
const memoryOf = (models: readonly PackModel[]): number => {
  let p = 0;
  let e = 0;
  for (const m of models) {
    p += m.persistentBytes;
    e = Math.max(e, m.ephemeralBytes);
  }
  return p + e;
};

function fits(b: Bin, m: PackModel, share: number, ml: number): boolean {
  if (b.models.some((x) => x.key === m.key)) return false; // replicas go on different devices
  return memoryOf([...b.models, m]) <= b.d.capacity && b.load + share <= ml + 1e-9;
}

type Choose = (bins: Bin[], m: PackModel, share: number, ml: number) => Bin | undefined;

/** Memory a device has left after taking the model, as a fraction of it (load left breaks ties): the tightest fit is least. */
function slack(b: Bin, m: PackModel, share: number, ml: number): number {
  const memLeft = b.d.capacity ? (b.d.capacity - memoryOf([...b.models, m])) / b.d.capacity : 0;
  return memLeft + 1e-3 * ((ml - b.load - share) / ml);
}

const bestFit: Choose = (bins, m, share, ml) => {
  let best: Bin | undefined;
  let bestSlack = Infinity;
  for (const b of bins) {
    if (!fits(b, m, share, ml)) continue;
    const s = slack(b, m, share, ml);
    if (s < bestSlack - 1e-12) {
      best = b;
      bestSlack = s;
    }
  }
  return best;
};

const firstFit: Choose = (bins, m, share, ml) => bins.find((b) => fits(b, m, share, ml));

const onePerDevice: Choose = (bins, m, share, ml) => bins.find((b) => b.models.length === 0 && fits(b, m, share, ml));

type Order = 'decreasing' | 'increasing' | 'arrival';

function pack(
  devices: readonly PackDevice[],
  models: readonly PackModel[],
  o: PackingOptions,
  choose: Choose,
  sort: Order,
): PackResult {
  check(devices, models, o);
  const ml = maxLoadOf(o);
  const bins: Bin[] = devices.map((d) => ({ d, models: [], load: 0 }));
  const unplaced: PackResult['unplaced'] = [];
  // Largest first by its dominant dimension (memory of the largest device, or load of maxLoad): best fit decreasing
  // for two dimensions, so neither the memory nor the load of the devices is left in scraps.
  const cap = Math.max(1, ...devices.map((d) => d.capacity));
  const size = (m: PackModel) => Math.max(memoryOf([m]) / cap, m.load / ml);
  const bySize = (a: PackModel, b: PackModel) => size(b) - size(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const order =
    sort === 'arrival' ? [...models] : [...models].sort(sort === 'decreasing' ? bySize : (a, b) => bySize(b, a));
  for (const m of order) {
    const n = replicasWanted(m, o);
    const share = m.load / n;
    for (let r = 0; r < n; r++) {
      const b = choose(bins, m, share, ml);
      if (!b) {
        unplaced.push({ key: m.key, replica: r });
        continue;
      }
      b.models.push(m);
      b.load += share;
    }
  }
  const placement: Placement = new Map();
  for (const b of bins)
    placement.set(
      b.d.index,
      b.models.map((m) => m.key),
    );
  return { placement, unplaced };
}

/**
 * Best fit over memory and load, with replicas: largest first (best-fit decreasing: everything fits with the
 * free memory in as few holes as possible). When not everything fits, the order that places the most replicas
 * (largest first, as they came, or smallest first), then the least fragmentation, wins.
 */
export function packBestFit(
  devices: readonly PackDevice[],
  models: readonly PackModel[],
  o: PackingOptions = {},
): PackResult {
  const first = pack(devices, models, o, bestFit, 'decreasing');
  if (first.unplaced.length === 0) return first;
  let best = first;
  let bestReport = reportPlacement(devices, models, first);
  for (const order of ['arrival', 'increasing'] as const) {
    const r = pack(devices, models, o, bestFit, order);
    const rep = reportPlacement(devices, models, r);
    if (
      rep.replicasPlaced > bestReport.replicasPlaced ||
      (rep.replicasPlaced === bestReport.replicasPlaced && rep.fragmentation < bestReport.fragmentation)
    ) {
      best = r;
      bestReport = rep;
    }
  }
  return best;
}

/** First fit in arrival order (the baseline). */
export const packFirstFit = (devices: readonly PackDevice[], models: readonly PackModel[], o: PackingOptions = {}) =>
  pack(devices, models, o, firstFit, 'arrival');

/** One model per device, in arrival order (the other baseline: a GPU per model). */
export const packOnePerDevice = (
  devices: readonly PackDevice[],
  models: readonly PackModel[],
  o: PackingOptions = {},
) => pack(devices, models, o, onePerDevice, 'arrival');

/** Best-fit choice for one model arriving on devices that already hold `placement`: the device index, or undefined. */
export function placeOne(
  devices: readonly PackDevice[],
  models: readonly PackModel[],
  placement: Placement,
  m: PackModel,
  o: PackingOptions = {},
): number | undefined {
  check(devices, [...models, m], o);
  const byKey = new Map(models.map((x) => [x.key, x]));
  const replicas = new Map<string, number>();
  for (const keys of placement.values()) for (const k of keys) replicas.set(k, (replicas.get(k) ?? 0) + 1);
  const bins: Bin[] = devices.map((d) => {
    const here = (placement.get(d.index) ?? []).map((k) => byKey.get(k)).filter((x): x is PackModel => !!x);
    return { d, models: here, load: here.reduce((a, x) => a + x.load / (replicas.get(x.key) ?? 1), 0) };
  });
  return bestFit(bins, m, m.load / Math.max(1, (replicas.get(m.key) ?? 0) + 1), maxLoadOf(o))?.d.index;
}

/** The moves from one placement to another: loads (from the host store) and unloads, per device. */
export function movesBetween(from: Placement, to: Placement): { load: [number, string][]; unload: [number, string][] } {
  const load: [number, string][] = [];
  const unload: [number, string][] = [];
  for (const [d, keys] of to) for (const k of keys) if (!(from.get(d) ?? []).includes(k)) load.push([d, k]);
  for (const [d, keys] of from) for (const k of keys) if (!(to.get(d) ?? []).includes(k)) unload.push([d, k]);
  return { load, unload };
}

export interface PackingReport {
  /** Model replicas placed / wanted. */
  replicasPlaced: number;
  replicasWanted: number;
  /** Distinct models with at least one replica. */
  modelsServed: number;
  devicesUsed: number;
  /** Free bytes on devices in use / all bytes of devices in use: memory stranded beside models. */
  strandedFraction: number;
  /** 1 - largest free block / all free bytes (0: the free memory is one hole; near 1: many small holes). */
  fragmentation: number;
}

export function reportPlacement(
  devices: readonly PackDevice[],
  models: readonly PackModel[],
  r: PackResult,
): PackingReport {
  const byKey = new Map(models.map((m) => [m.key, m]));
  let placed = 0;
  let used = 0;
  let usedCapacity = 0;
  let usedFree = 0;
  let allFree = 0;
  let largest = 0;
  const served = new Set<string>();
  for (const d of devices) {
    const keys = r.placement.get(d.index) ?? [];
    placed += keys.length;
    for (const k of keys) served.add(k);
    const free = d.capacity - memoryOf(keys.map((k) => byKey.get(k)!));
    allFree += free;
    largest = Math.max(largest, free);
    if (keys.length) {
      used++;
      usedCapacity += d.capacity;
      usedFree += free;
    }
  }
  return {
    replicasPlaced: placed,
    replicasWanted: placed + r.unplaced.length,
    modelsServed: served.size,
    devicesUsed: used,
    strandedFraction: usedCapacity ? usedFree / usedCapacity : 0,
    fragmentation: allFree ? 1 - largest / allFree : 0,
  };
}
