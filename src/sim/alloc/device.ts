// The modeled device API the allocators sit on: cudaMalloc/cudaFree with a
// cost that depends on the size, a capacity, and counters. Addresses are
// virtual (each segment gets a fresh 2 MiB-aligned range), so two segments
// never overlap and a freed range is never handed out again.
import { TensorshareError } from '../../errors.js';

export interface CostModel {
  name: string;
  /** Where the numbers come from. */
  source: string;
  mallocUs(bytes: number): number;
  freeUs(bytes: number): number;
}

/**
 * cudaMalloc / cudaFree, median µs per call at each size, measured on the
 * device machine (one NVIDIA H200, driver 580.159.04, CUDA runtime 13.0,
 * CuPy's runtime.malloc/free, no pool; 41 calls per size below 256 MiB, 9
 * above; traces/alloc/cudamalloc-h200.json). The shape matches Boyer's
 * published measurement on a GTX 280 (a flat cost of tens of µs from a few
 * KB to 512 KB, rising with the size above), at a later GPU's sizes: flat
 * near 40 µs up to 256 MiB, then rising, and cudaFree rising from 16 MiB.
 */
export const H200_CUDA_MALLOC: readonly (readonly [bytes: number, mallocUs: number, freeUs: number])[] = [
  [512, 45.31, 37.29],
  [4096, 44.77, 36.82],
  [65536, 45.43, 37.02],
  [1048576, 43.46, 36.07],
  [8388608, 41.3, 38.68],
  [16777216, 43.77, 47.31],
  [33554432, 48.3, 58.78],
  [67108864, 47.44, 72.71],
  [134217728, 40.5, 68.95],
  [268435456, 42.18, 121.18],
  [536870912, 85.2, 192.01],
  [1073741824, 130.26, 494.13],
  [2147483648, 279.49, 987.22],
  [4294967296, 368.28, 1228.1],
  [8589934592, 565.55, 3321.22],
  [17179869184, 3726.61, 10259.49],
];

/** Piecewise linear in log2(size) between the points, flat below the first, the last slope above the last. */
export function tableCost(
  name: string,
  source: string,
  points: readonly (readonly [number, number, number])[],
): CostModel {
  const xs = points.map((p) => Math.log2(p[0]));
  const interp = (col: 1 | 2) => (bytes: number) => {
    const x = Math.log2(Math.max(bytes, 1));
    if (x <= xs[0]!) return points[0]![col];
    let i = 1;
    while (i < xs.length - 1 && xs[i]! < x) i++;
    const x0 = xs[i - 1]!;
    const x1 = xs[i]!;
    const y0 = points[i - 1]![col];
    const y1 = points[i]![col];
    return Math.max(0, y0 + ((y1 - y0) * (x - x0)) / (x1 - x0));
  };
  return { name, source, mallocUs: interp(1), freeUs: interp(2) };
}

export const COST_MODELS: Record<string, CostModel> = {
  h200: tableCost(
    'h200',
    'cudaMalloc/cudaFree medians measured on an H200 (traces/alloc/cudamalloc-h200.json)',
    H200_CUDA_MALLOC,
  ),
};

/** H200: 143771 MiB as nvidia-smi reports it. */
export const H200_BYTES = 143771 * 2 ** 20;
const SEGMENT_ALIGN = 2 * 2 ** 20;

export interface DeviceStats {
  mallocCalls: number;
  freeCalls: number;
  /** Modeled µs in cudaMalloc + cudaFree. */
  apiUs: number;
  reserved: number;
  peakReserved: number;
}

export interface Device {
  readonly capacity: number;
  /** A new segment's address, or -1 when it does not fit (the call is still counted, as a failed cudaMalloc costs a call). */
  malloc(bytes: number): number;
  free(addr: number): void;
  /** Live segments: address -> size. */
  readonly segments: ReadonlyMap<number, number>;
  stats(): DeviceStats;
}

export function createDevice(cost: CostModel, capacity = H200_BYTES): Device {
  const segments = new Map<number, number>();
  let nextAddr = SEGMENT_ALIGN;
  const s: DeviceStats = { mallocCalls: 0, freeCalls: 0, apiUs: 0, reserved: 0, peakReserved: 0 };
  return {
    capacity,
    segments,
    malloc(bytes) {
      s.mallocCalls++;
      s.apiUs += cost.mallocUs(bytes);
      if (bytes <= 0 || s.reserved + bytes > capacity) return -1;
      const addr = nextAddr;
      nextAddr += Math.ceil(bytes / SEGMENT_ALIGN) * SEGMENT_ALIGN;
      segments.set(addr, bytes);
      s.reserved += bytes;
      if (s.reserved > s.peakReserved) s.peakReserved = s.reserved;
      return addr;
    },
    free(addr) {
      const bytes = segments.get(addr);
      if (bytes === undefined)
        throw new TensorshareError('ERR_INTERNAL', `cudaFree of ${addr}, which is no segment`, { addr });
      s.freeCalls++;
      s.apiUs += cost.freeUs(bytes);
      segments.delete(addr);
      s.reserved -= bytes;
    },
    stats: () => ({ ...s }),
  };
}

/** The out-of-memory error every allocator throws when the device cannot give it a segment. */
export function outOfMemory(allocator: string, bytes: number, device: Device): TensorshareError {
  return new TensorshareError(
    'ERR_RESOURCE_EXHAUSTED',
    `${allocator}: out of device memory for ${bytes} bytes (${device.stats().reserved} of ${device.capacity} reserved)`,
    { allocator, bytes },
  );
}
