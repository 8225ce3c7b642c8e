// Replays a trace through one allocator over a fresh modeled device and
// measures it: modeled time in allocation calls, device API calls, peak
// reserved against peak requested, memory held at the end. With `check`,
// every block handed out is verified to lie inside a live device segment and
// to overlap no live block (slow: for tests and --check).
import { performance } from 'node:perf_hooks';
import { TensorshareError, isTensorshareError } from '../../errors.js';
import type { Allocator } from './allocator.js';
import { createBfc } from './bfc.js';
import { createBuddy } from './buddy.js';
import { createCaching } from './caching.js';
import { COST_MODELS, createDevice, H200_BYTES, type CostModel, type Device } from './device.js';
import { createDirect } from './direct.js';
import { createLearnedArena, type ArenaProfile, type LearnedArena } from './learned-arena.js';
import { OP_ALLOC, type AllocTrace } from './trace.js';

export const ALLOCATORS = ['direct', 'caching', 'bfc', 'buddy', 'learned-arena'] as const;
export type AllocatorName = (typeof ALLOCATORS)[number];

export function parseAllocators(list: string): AllocatorName[] {
  const names = list.split(',').map((s) => s.trim());
  for (const n of names)
    if (!(ALLOCATORS as readonly string[]).includes(n))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `unknown allocator ${n} (one of ${ALLOCATORS.join(', ')})`);
  return names as AllocatorName[];
}

export interface ReplayOptions {
  cost?: CostModel;
  capacity?: number;
  /**
   * Modeled CPU time of one allocator call (malloc or free) on top of the
   * device API: 0.1 µs, a pooled fast path (a hash lookup and a set update),
   * the same for every allocator so that only device calls separate them.
   */
  hostCallUs?: number;
  /** For learned-arena: what it learned from a previous run (none: its first run). */
  profile?: ArenaProfile;
  check?: boolean;
  /** Called every 65,536 events. */
  onProgress?: (done: number, total: number) => void;
}

export interface RunResult {
  trace: string;
  allocator: AllocatorName;
  events: number;
  deviceMallocs: number;
  deviceFrees: number;
  /** Modeled µs: device API + host bookkeeping. */
  modeledUs: number;
  apiUs: number;
  peakReserved: number;
  peakRequested: number;
  /** peakReserved / peakRequested. */
  reservedRatio: number;
  reservedAtEnd: number;
  liveAtEnd: number;
  /** learned-arena: allocations outside the learned segments. */
  spills?: number;
  /** Set when the device ran out of memory; the numbers are up to that event. */
  error?: { code: string; message: string };
  /** Wall time of the replay loop (not part of the deterministic result). */
  wallMs: number;
}

export function createAllocator(name: AllocatorName, device: Device, profile?: ArenaProfile): Allocator {
  switch (name) {
    case 'direct':
      return createDirect(device);
    case 'caching':
      return createCaching(device);
    case 'bfc':
      return createBfc(device);
    case 'buddy':
      return createBuddy(device);
    case 'learned-arena':
      return createLearnedArena(device, profile);
  }
}

export function replay(trace: AllocTrace, name: AllocatorName, o: ReplayOptions = {}): RunResult {
  const device = createDevice(o.cost ?? COST_MODELS.h200!, o.capacity ?? H200_BYTES);
  const alloc = createAllocator(name, device, o.profile);
  const checker = o.check ? createChecker(device, name) : undefined;
  const addrOf = new Float64Array(trace.idBytes.length);
  const { ops, ids, idBytes, marks } = trace;
  let live = 0;
  let peak = 0;
  let m = 0;
  let calls = 0;
  let error: RunResult['error'];
  const t0 = performance.now();
  let i = 0;
  try {
    for (; i < trace.length; i++) {
      // Not `alloc.mark?.(marks[m++])`: an absent method would skip the increment too.
      for (; m < marks.length && marks[m]!.at <= i; m++) alloc.mark?.(marks[m]!);
      const id = ids[i]!;
      const bytes = idBytes[id]!;
      calls++;
      if (ops[i] === OP_ALLOC) {
        const a = alloc.malloc(bytes);
        addrOf[id] = a;
        checker?.malloc(a, bytes);
        live += bytes;
        if (live > peak) peak = live;
      } else {
        checker?.free(addrOf[id]!);
        alloc.free(addrOf[id]!);
        live -= bytes;
      }
      if ((i & 0xffff) === 0xffff) o.onProgress?.(i + 1, trace.length);
    }
  } catch (e) {
    if (!isTensorshareError(e, 'ERR_RESOURCE_EXHAUSTED')) throw e;
    error = { code: e.code, message: `event ${i}: ${e.message}` };
  }
  const wallMs = performance.now() - t0;
  o.onProgress?.(trace.length, trace.length);
  const s = device.stats();
  const hostUs = calls * (o.hostCallUs ?? 0.1);
  return {
    trace: trace.name,
    allocator: name,
    events: trace.length,
    deviceMallocs: s.mallocCalls,
    deviceFrees: s.freeCalls,
    modeledUs: s.apiUs + hostUs,
    apiUs: s.apiUs,
    peakReserved: s.peakReserved,
    peakRequested: peak,
    reservedRatio: peak > 0 ? s.peakReserved / peak : 1,
    reservedAtEnd: s.reserved,
    liveAtEnd: live,
    ...(name === 'learned-arena' ? { spills: (alloc as LearnedArena).spills() } : {}),
    ...(error ? { error } : {}),
    wallMs,
  };
}

/** Live blocks sorted by address; every new one must fit in a segment and touch no other. */
function createChecker(device: Device, name: string) {
  const starts: number[] = [];
  const ends = new Map<number, number>();
  const fail = (msg: string) => {
    throw new TensorshareError('ERR_INTERNAL', `${name}: ${msg}`);
  };
  const lowerBound = (a: number) => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    malloc(addr: number, bytes: number) {
      const end = addr + Math.max(bytes, 1);
      let inside = false;
      for (const [base, size] of device.segments) if (addr >= base && end <= base + size) inside = true;
      if (!inside) fail(`block [${addr}, ${end}) is outside every device segment`);
      const i = lowerBound(addr);
      if (starts[i] === addr) fail(`address ${addr} handed out twice`);
      const prev = starts[i - 1];
      if (prev !== undefined && ends.get(prev)! > addr) fail(`block at ${addr} overlaps the block at ${prev}`);
      const next = starts[i];
      if (next !== undefined && end > next) fail(`block [${addr}, ${end}) overlaps the block at ${next}`);
      starts.splice(i, 0, addr);
      ends.set(addr, end);
    },
    free(addr: number) {
      const i = lowerBound(addr);
      if (starts[i] !== addr) fail(`free of ${addr}, which is not live`);
      starts.splice(i, 1);
      ends.delete(addr);
    },
  };
}
