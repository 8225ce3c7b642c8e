export { createBufferPool, type BufferPool, type BufferPoolOptions } from './buffer-pool.js';
export {
  createSegmentFile,
  segmentReader,
  segmentWriter,
  SHM_DIR,
  type SegmentOptions,
  type SegmentReader,
  type SegmentWriter,
  type Slot,
} from './segment.js';
export {
  INLINE_BYTES,
  putBytes,
  putTensors,
  slotOfBytes,
  slotsOf,
  takeBytesAsync,
  takeTensors,
  takeTensorsAsync,
  type SlotBytes,
  type SlotTensor,
} from './tensors.js';
