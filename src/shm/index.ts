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
export { INLINE_BYTES, putTensors, slotsOf, takeTensors, takeTensorsAsync, type SlotTensor } from './tensors.js';
