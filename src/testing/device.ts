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

/**
 * A model slow enough on the CPU provider that concurrent requests queue on the (stand-in) executor, with small
 * inputs and outputs (so the gateway's JSON is not what limits a flood): x[1, n] expanded to [rows, n], through
 * `layers` MatMuls with an n x n weight, averaged back to y[1, n]. A fixed first dimension: the executor runs each
 * request alone. rows=256, n=512, layers=4: about 268 M multiply-adds a run.
 */
export async function writeSlowMatMul(
  file: string,
  rows: number,
  n: number,
  layers: number,
  seed: number,
): Promise<void> {
  const { Model } = onnxTypes();
  const vi = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: n }] } } },
  });
  const shape = Buffer.alloc(16);
  shape.writeBigInt64LE(BigInt(rows), 0);
  shape.writeBigInt64LE(BigInt(n), 8);
  const node = [
    { input: ['x', 'shape'], output: ['h0'], opType: 'Expand', name: 'expand' },
    ...Array.from({ length: layers }, (_, i) => ({
      input: [`h${i}`, 'w'],
      output: [`h${i + 1}`],
      opType: 'MatMul',
      name: `mm${i}`,
    })),
    {
      input: [`h${layers}`],
      output: ['y'],
      opType: 'ReduceMean',
      name: 'mean',
      attribute: [
        { name: 'axes', type: 7, ints: [0] },
        { name: 'keepdims', type: 2, i: 1 },
      ],
    },
  ];
  const model = Model.fromObject({
    irVersion: 8,
    producerName: 'tensorshare-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'slow',
      node,
      initializer: [
        { name: 'w', dims: [n, n], dataType: 1, rawData: weights(n * n, seed, 1 / n) },
        { name: 'shape', dims: [2], dataType: 7, rawData: shape },
      ],
      input: [vi('x')],
      output: [vi('y')],
    },
  });
  await fs.writeFile(file, Model.encode(model).finish());
}
