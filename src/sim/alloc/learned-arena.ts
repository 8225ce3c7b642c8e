// Our design, from what an inference server knows and a framework allocator
// does not: which allocations are the model's weights (made while it loads,
// they live as long as the model) and which belong to requests, and, from
// earlier runs of the same model, how much room each needs. The profile
// (learnArenaProfile) replays a previous run and records two high-water
// marks; the allocator then takes exactly two segments, one per phase, sized
// to them, and packs blocks inside each by best fit over the holes with
// coalescing, growing at the end only when no hole fits. Because the
// placement rule is the one the profile was learned with, the same workload
// fits exactly: two cudaMalloc calls, reserved = the high-water marks. A
// request the profile did not foresee (a new batch size, a bigger input)
// spills into a BFC allocator beside it, counted as `spills`. Without a
// profile (a model's first run) everything goes to that BFC allocator.
import { roundUp, type Allocator } from './allocator.js';
import { coalesce, FreeSet, splitBlock, type Block } from './blocks.js';
import { createBfc } from './bfc.js';
import { outOfMemory, type Device } from './device.js';
import { OP_ALLOC, type AllocTrace, type TraceMark } from './trace.js';

const ALIGN = 512;

export interface ArenaProfile {
  /** High-water mark of the load phase (weights), bytes. */
  weightsBytes: number;
  /** High-water mark of the request phases, bytes. */
  arenaBytes: number;
}

export interface LearnedArena extends Allocator {
  /** Allocations that did not fit the learned segments. */
  readonly spills: () => number;
}

/** One segment (or, while learning, an unbounded range) packed by best fit over holes, then at the end. */
class Region {
  private readonly holes = new FreeSet();
  private readonly blocks = new Map<number, Block>();
  private last: Block | null = null;
  private tail: number;
  highWater = 0;

  constructor(
    readonly base: number,
    readonly bytes: number,
  ) {
    this.tail = base;
  }

  contains(addr: number): boolean {
    return addr >= this.base && addr < this.base + this.bytes;
  }

  /** Address of a block of `size` bytes, or -1 when neither a hole nor the end has room. */
  malloc(size: number): number {
    let b = this.holes.bestFit(size);
    if (b) {
      this.holes.remove(b);
      if (b.size - size >= ALIGN) this.holes.insert(splitBlock(b, size));
    } else {
      if (this.tail + size > this.base + this.bytes) return -1;
      b = { addr: this.tail, size, free: false, prev: this.last, next: null, segment: this.base };
      if (this.last) this.last.next = b;
      this.last = b;
      this.tail += size;
      this.highWater = Math.max(this.highWater, this.tail - this.base);
    }
    b.free = false;
    this.blocks.set(b.addr, b);
    return b.addr;
  }

  free(addr: number): void {
    const b = this.blocks.get(addr);
    if (!b) throw new Error(`learned-arena: free of ${addr}, which is not allocated`);
    this.blocks.delete(addr);
    b.free = true;
    const m = coalesce(b, (n) => this.holes.remove(n));
    if (m.next === null) {
      // The end block: give it back to the end instead of keeping a hole.
      this.last = m.prev;
      if (m.prev) m.prev.next = null;
      this.tail = m.addr;
    } else this.holes.insert(m);
  }
}

/** Replays a previous run with unbounded regions and returns their high-water marks. */
export function learnArenaProfile(trace: AllocTrace): ArenaProfile {
  const regions = [new Region(0, Number.POSITIVE_INFINITY), new Region(2 ** 52, Number.POSITIVE_INFINITY)];
  const addrOf = new Float64Array(trace.idBytes.length);
  let phase = 0;
  let m = 0;
  for (let i = 0; i < trace.length; i++) {
    while (m < trace.marks.length && trace.marks[m]!.at <= i) phase = phaseOf(trace.marks[m++]!);
    const id = trace.ids[i]!;
    if (trace.ops[i] === OP_ALLOC) addrOf[id] = regions[phase]!.malloc(roundUp(trace.idBytes[id]!, ALIGN));
    else regions[addrOf[id]! >= 2 ** 52 ? 1 : 0]!.free(addrOf[id]!);
  }
  return { weightsBytes: regions[0]!.highWater, arenaBytes: regions[1]!.highWater };
}

const phaseOf = (m: TraceMark): number => (m.name === 'load' ? 0 : 1);

export function createLearnedArena(device: Device, profile?: ArenaProfile): LearnedArena {
  const spill = createBfc(device);
  const wanted = [profile?.weightsBytes ?? 0, profile?.arenaBytes ?? 0];
  const regions: (Region | null)[] = [null, null];
  let phase = 0;
  let spills = 0;
  return {
    name: 'learned-arena',
    spills: () => spills,
    mark(m) {
      phase = phaseOf(m);
    },
    malloc(bytes) {
      const size = roundUp(bytes, ALIGN);
      let r = regions[phase];
      if (!r && wanted[phase]! > 0) {
        const addr = device.malloc(wanted[phase]!);
        if (addr < 0) throw outOfMemory('learned-arena', wanted[phase]!, device);
        r = new Region(addr, wanted[phase]!);
        regions[phase] = r;
      }
      const addr = r ? r.malloc(size) : -1;
      if (addr >= 0) return addr;
      spills++;
      return spill.malloc(bytes);
    },
    free(addr) {
      for (const r of regions)
        if (r?.contains(addr)) {
          r.free(addr);
          return;
        }
      spill.free(addr);
    },
  };
}
