// A binary buddy allocator: blocks of 2^k bytes (512 B at least) carved from
// arenas of 64 MiB (or the next power of two of a larger request) taken from
// the device; a free block merges with its buddy (the other half of the
// block they were split from) while the buddy is free. Arenas are kept.
// Power-of-two rounding wastes up to half of each block; in exchange the
// bookkeeping is a free list per order and no search.
import type { Allocator } from './allocator.js';
import { outOfMemory, type Device } from './device.js';

export const BUDDY = { minOrder: 9, arenaOrder: 26 } as const;

const orderOf = (bytes: number) => Math.max(BUDDY.minOrder, Math.ceil(Math.log2(Math.max(bytes, 1))));

export function createBuddy(device: Device): Allocator {
  /** Free block addresses per order (insertion-ordered sets: deterministic picks). */
  const free: Set<number>[] = [];
  /** Arena base of every block address handed out or free: for the buddy arithmetic. */
  const arenaOf = new Map<number, number>();
  const liveOrder = new Map<number, number>();
  const freeList = (k: number) => {
    let s = free[k];
    if (!s) {
      s = new Set();
      free[k] = s;
    }
    return s;
  };

  return {
    name: 'buddy',
    malloc(bytes) {
      const want = orderOf(bytes);
      let k = want;
      while (k < free.length && !free[k]?.size) k++;
      let addr: number;
      if (k >= free.length || !free[k]?.size) {
        k = Math.max(want, BUDDY.arenaOrder);
        addr = device.malloc(2 ** k);
        if (addr < 0) throw outOfMemory('buddy', bytes, device);
        arenaOf.set(addr, addr);
      } else {
        const s = free[k]!;
        addr = s.values().next().value as number;
        s.delete(addr);
      }
      const base = arenaOf.get(addr)!;
      // Split down to the wanted order: the upper halves become free buddies.
      while (k > want) {
        k--;
        const half = addr + 2 ** k;
        arenaOf.set(half, base);
        freeList(k).add(half);
      }
      liveOrder.set(addr, want);
      return addr;
    },
    free(addr) {
      let k = liveOrder.get(addr);
      if (k === undefined) throw new Error(`buddy: free of ${addr}, which is not allocated`);
      liveOrder.delete(addr);
      const base = arenaOf.get(addr)!;
      const top = Math.log2(device.segments.get(base)!);
      let a = addr;
      while (k < top) {
        const size = 2 ** k;
        const off = a - base;
        const buddy = base + (Math.floor(off / size) % 2 === 0 ? off + size : off - size);
        const s = free[k];
        if (!s?.has(buddy)) break;
        s.delete(buddy);
        arenaOf.delete(Math.max(a, buddy));
        a = Math.min(a, buddy);
        k++;
      }
      freeList(k).add(a);
    },
  };
}
