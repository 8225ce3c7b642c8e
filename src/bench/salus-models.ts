// The models of the Salus benchmark and of the lane tests: a chain of square
// MatMuls with a free batch dimension, x[batch, width] -> W_1 -> ... -> W_depth
// -> y[batch, width]. Width sets the weights (P), batch x width the
// activations (E), depth x width^2 the work per row, so a mixed set of small
// and large, short and long models is a few numbers. Encoded with the ONNX
// schema of src/onnx, weights embedded.
import fs from 'node:fs/promises';
import { onnxTypes } from '../onnx/schema.js';
import { seededFloats } from '../prng.js';

export interface ChainSpec {
  name: string;
  width: number;
  depth: number;
}

export interface ChainModel extends ChainSpec {
  file: string;
  weightBytes: number;
  /** Floating-point operations of one row. */
  flopsPerRow: number;
}

/** Deterministic weights in [-scale/2, scale/2), small enough that a deep chain stays finite. */
function weights(count: number, seed: number, scale: number): Buffer {
  return Buffer.from(seededFloats(count, seed, scale / 2).buffer);
}

export async function writeMatMulChain(file: string, spec: ChainSpec, seed = 1): Promise<ChainModel> {
  const { Model } = onnxTypes();
  const { width: n, depth } = spec;
  const vi = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: n }] } } },
  });
  const node = [];
  const initializer = [];
  for (let i = 0; i < depth; i++) {
    const input = i === 0 ? 'x' : `h${i}`;
    const output = i === depth - 1 ? 'y' : `h${i + 1}`;
    node.push({ input: [input, `w${i}`], output: [output], opType: 'MatMul', name: `mm${i}` });
    initializer.push({ name: `w${i}`, dims: [n, n], dataType: 1, rawData: weights(n * n, seed + i, 2 / Math.sqrt(n)) });
  }
  const model = Model.fromObject({
    irVersion: 8,
    producerName: 'tensorshare-bench-salus',
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: spec.name, node, initializer, input: [vi('x')], output: [vi('y')] },
  });
  await fs.writeFile(file, Model.encode(model).finish());
  return { ...spec, file, weightBytes: depth * n * n * 4, flopsPerRow: depth * 2 * n * n };
}
