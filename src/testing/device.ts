// Fixtures of the device-tier tests: a MatMul model with a free batch
// dimension (x[batch,rows] -> W -> y[batch,cols]), so the executor can join
// requests along axis 0, and its reference output computed here.
import fs from 'node:fs/promises';
import { onnxTypes } from '../onnx/schema.js';
import { weights } from './models.js';

export interface BatchedModel {
  file: string;
  rows: number;
  cols: number;
  seed: number;
  /** y = x W, row by row (float64 sums: compare with a tolerance). */
  reference(x: Float32Array): Float32Array;
}

export async function writeBatchedMatMul(
  file: string,
  rows: number,
  cols: number,
  seed: number,
): Promise<BatchedModel> {
  const { Model } = onnxTypes();
  const w = weights(rows * cols, seed, 0.02);
  const vi = (name: string, n: number) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: n }] } } },
  });
  const model = Model.fromObject({
    irVersion: 8,
    producerName: 'tensorshare-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'batched',
      node: [{ input: ['x', 'w'], output: ['y'], opType: 'MatMul', name: 'mm' }],
      initializer: [{ name: 'w', dims: [rows, cols], dataType: 1, rawData: w }],
      input: [vi('x', rows)],
      output: [vi('y', cols)],
    },
  });
  await fs.writeFile(file, Model.encode(model).finish());
  const wf = new Float32Array(w.buffer, w.byteOffset, rows * cols);
  return {
    file,
    rows,
    cols,
    seed,
    reference(x) {
      const batch = x.length / rows;
      const y = new Float32Array(batch * cols);
      for (let b = 0; b < batch; b++)
        for (let j = 0; j < cols; j++) {
          let acc = 0;
          for (let i = 0; i < rows; i++) acc += x[b * rows + i]! * wf[i * cols + j]!;
          y[b * cols + j] = acc;
        }
      return y;
    },
  };
}
