// TensorFlow's best-fit with coalescing allocator (tsl/framework/bfc_allocator.cc)
// with allow_growth, as on a shared GPU: sizes rounded up to 256 bytes; 21
// bins of free chunks, bin i holding sizes in [256 << i, 256 << (i + 1)) and
// the last everything larger, each ordered by (size, address); a request
// searches from its own bin upward and takes the first (smallest) chunk that
// fits, split when the chunk is at least twice the request or the rest is
// >= 128 MiB; a freed chunk merges with free neighbours of its region. When
// nothing fits a new region is taken from the device: the current region size
// (2 MiB at first) doubled until the request fits, and doubled again after a
// region of unchanged size. Regions are never given back.
import { roundUp, type Allocator } from './allocator.js';
import { coalesce, FreeSet, segmentBlock, splitBlock, type Block } from './blocks.js';
import { outOfMemory, type Device } from './device.js';

export const BFC = {
  minAllocation: 256,
  bins: 21,
  maxInternalFragmentation: 128 * 2 ** 20,
  initialRegion: 2 * 2 ** 20,
} as const;

export function bfcBin(bytes: number): number {
  const v = Math.max(bytes, BFC.minAllocation) / BFC.minAllocation;
  return Math.min(BFC.bins - 1, Math.floor(Math.log2(v)));
}

export function createBfc(device: Device): Allocator {
  const bins = Array.from({ length: BFC.bins }, () => new FreeSet());
  const live = new Map<number, Block>();
  let regionBytes: number = BFC.initialRegion;
  const list = (b: Block) => bins[bfcBin(b.size)]!.insert(b);
  const unlist = (b: Block) => bins[bfcBin(b.size)]!.remove(b);

  const find = (size: number): Block | undefined => {
    for (let i = bfcBin(size); i < BFC.bins; i++) {
      const b = bins[i]!.bestFit(size);
      if (b) return b;
    }
    return undefined;
  };

  const extend = (size: number) => {
    let increased = false;
    while (size > regionBytes) {
      regionBytes *= 2;
      increased = true;
    }
    const available = device.capacity - device.stats().reserved;
    const bytes = Math.min(regionBytes, available);
    if (bytes < size) return false;
    const addr = device.malloc(bytes);
    if (addr < 0) return false;
    if (!increased) regionBytes *= 2;
    list(segmentBlock(addr, bytes));
    return true;
  };

  return {
    name: 'bfc',
    malloc(bytes) {
      const size = roundUp(bytes, BFC.minAllocation);
      let b = find(size);
      if (!b) {
        if (!extend(size)) throw outOfMemory('bfc', bytes, device);
        b = find(size)!;
      }
      unlist(b);
      if (b.size >= size * 2 || b.size - size >= BFC.maxInternalFragmentation) list(splitBlock(b, size));
      b.free = false;
      live.set(b.addr, b);
      return b.addr;
    },
    free(addr) {
      const b = live.get(addr);
      if (!b) throw new Error(`bfc: free of ${addr}, which is not allocated`);
      live.delete(addr);
      b.free = true;
      list(coalesce(b, unlist));
    },
  };
}
