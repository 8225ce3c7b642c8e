// What every simulated allocator offers the replay: malloc/free of tensors by
// address, on top of a modeled Device, plus the phase marks of the trace for
// those that use what an inference server knows.
import type { TraceMark } from './trace.js';

export interface Allocator {
  readonly name: string;
  /** The address of a new block of at least `bytes` bytes; throws ERR_RESOURCE_EXHAUSTED when the device is full. */
  malloc(bytes: number): number;
  free(addr: number): void;
  /** Called before the first event of each phase. */
  mark?(m: TraceMark): void;
}

export const roundUp = (n: number, to: number): number => Math.ceil(Math.max(n, 1) / to) * to;
