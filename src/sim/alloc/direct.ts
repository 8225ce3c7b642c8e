// No allocator: one cudaMalloc per tensor and one cudaFree when it dies. The
// baseline every pooling allocator exists to beat on time.
import { roundUp, type Allocator } from './allocator.js';
import { outOfMemory, type Device } from './device.js';

/** cudaMalloc returns 256-byte aligned memory and rounds sizes up to at least that; 512 as PyTorch's minimum block. */
const GRANULE = 512;

export function createDirect(device: Device): Allocator {
  return {
    name: 'direct',
    malloc(bytes) {
      const addr = device.malloc(roundUp(bytes, GRANULE));
      if (addr < 0) throw outOfMemory('direct', bytes, device);
      return addr;
    },
    free(addr) {
      device.free(addr);
    },
  };
}
