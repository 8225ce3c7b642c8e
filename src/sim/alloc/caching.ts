// PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp), its
// default configuration on one stream: sizes rounded up to 512 bytes; two
// pools, small (<= 1 MiB, carved from 2 MiB segments) and large (segments of
// 20 MiB for requests under 10 MiB, else the request rounded to 2 MiB); best
// fit inside the pool; a block is split when the rest is >= 512 bytes (small)
// or > 1 MiB (large); freed blocks merge with free neighbours of their
// segment and stay cached: memory goes back to the device only when a
// cudaMalloc fails (then every whole free segment is released and the call
// retried), as in release_cached_blocks.
import { roundUp, type Allocator } from './allocator.js';
import { coalesce, FreeSet, segmentBlock, splitBlock, wholeSegment, type Block } from './blocks.js';
import { outOfMemory, type Device } from './device.js';

const MiB = 2 ** 20;
export const CACHING = {
  minBlock: 512,
  smallSize: 1 * MiB,
  smallBuffer: 2 * MiB,
  largeBuffer: 20 * MiB,
  minLargeAlloc: 10 * MiB,
  roundLarge: 2 * MiB,
} as const;

export function cachingSegmentSize(size: number): number {
  if (size <= CACHING.smallSize) return CACHING.smallBuffer;
  if (size < CACHING.minLargeAlloc) return CACHING.largeBuffer;
  return roundUp(size, CACHING.roundLarge);
}

export function createCaching(device: Device): Allocator {
  const pools = [new FreeSet(), new FreeSet()]; // 0 small, 1 large
  const poolOfSegment = new Map<number, 0 | 1>();
  const live = new Map<number, Block>();

  const release = () => {
    for (const pool of pools)
      for (const b of [...pool])
        if (wholeSegment(b)) {
          pool.remove(b);
          poolOfSegment.delete(b.segment);
          device.free(b.segment);
        }
  };

  return {
    name: 'caching',
    malloc(bytes) {
      const size = roundUp(bytes, CACHING.minBlock);
      const p = size <= CACHING.smallSize ? 0 : 1;
      const pool = pools[p]!;
      let b = pool.bestFit(size);
      if (b) pool.remove(b);
      else {
        const segSize = cachingSegmentSize(size);
        let addr = device.malloc(segSize);
        if (addr < 0) {
          release();
          addr = device.malloc(segSize);
          if (addr < 0) throw outOfMemory('caching', bytes, device);
        }
        poolOfSegment.set(addr, p);
        b = segmentBlock(addr, segSize);
      }
      const rest = b.size - size;
      if (p === 0 ? rest >= CACHING.minBlock : rest > CACHING.smallSize) pool.insert(splitBlock(b, size));
      b.free = false;
      live.set(b.addr, b);
      return b.addr;
    },
    free(addr) {
      const b = live.get(addr);
      if (!b) throw new Error(`caching: free of ${addr}, which is not allocated`);
      live.delete(addr);
      b.free = true;
      const pool = pools[poolOfSegment.get(b.segment)!]!;
      pool.insert(coalesce(b, (n) => pool.remove(n)));
    },
  };
}
