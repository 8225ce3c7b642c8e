// Which node inputs ONNX shape inference reads as data, by operator and input
// position. ONNX Runtime infers shapes while it loads a model and refuses to
// read such a tensor from external data ("[ShapeInferenceError] Cannot parse
// data from external tensors"), so split.ts keeps every tensor named here in
// the graph, whatever its size. Decided by the consumer, not by size: a
// 1-element axes tensor and a 1000-element shape tensor are the same case.
// Positions follow the latest opset of each operator; a position an older
// opset lacks simply never matches.

const TABLE: Readonly<Record<string, readonly number[]>> = {
  Reshape: [1], // shape
  ConstantOfShape: [0], // input (the shape)
  Expand: [1], // shape
  Tile: [1], // repeats
  Unsqueeze: [1], // axes (opset 13+)
  Squeeze: [1], // axes (opset 13+)
  ReduceSum: [1],
  ReduceMean: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ReduceProd: [1], // axes (opset 13 / 18+)
  ReduceL1: [1],
  ReduceL2: [1],
  ReduceLogSum: [1],
  ReduceLogSumExp: [1],
  ReduceSumSquare: [1],
  Slice: [1, 2, 3, 4], // starts, ends, axes, steps
  Resize: [1, 2, 3], // roi, scales, sizes
  Upsample: [1], // scales
  Pad: [1, 2, 3], // pads, constant_value, axes
  TopK: [1], // k
  Range: [0, 1, 2], // start, limit, delta
  OneHot: [1], // depth
  Split: [1], // split (opset 13+)
  CenterCropPad: [1], // shape
  Col2Im: [1, 2], // image_shape, block_shape
  MaxUnpool: [2], // output_shape
  AffineGrid: [1], // size
  DFT: [1, 2], // dft_length, axis
  STFT: [1, 3], // frame_step, frame_length
  MelWeightMatrix: [0, 1, 2, 3, 4],
  HannWindow: [0],
  HammingWindow: [0],
  BlackmanWindow: [0], // size
};

/** The names among `inputs` that this node reads as data during shape inference. */
export function readsAsData(domain: string, opType: string, inputs: readonly string[]): string[] {
  if (domain !== '' && domain !== 'ai.onnx') return [];
  const positions = TABLE[opType];
  if (!positions) return [];
  return positions.map((i) => inputs[i] ?? '').filter((name) => name !== '');
}

/**
 * Operators whose output values ONNX shape inference computes from their
 * input values (its partial data propagation, plus Identity and the
 * arithmetic ORT's constant folding sees through): a data input fed through
 * them makes their inputs data inputs too.
 */
const PROPAGATES = new Set([
  'Identity',
  'Cast',
  'Concat',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Slice',
  'Reshape',
  'Flatten',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Neg',
  'Abs',
  'Max',
  'Min',
  'Expand',
  'Tile',
  'Where',
]);

export function propagatesData(domain: string, opType: string): boolean {
  return (domain === '' || domain === 'ai.onnx') && PROPAGATES.has(opType);
}
