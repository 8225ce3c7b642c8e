// Small ONNX models built in tests: a MatMul chain y = relu(x W0) W1 ... in
// every storage format the importer accepts, and a plain MatMul chain of any
// shapes whose weights dedup across models; deterministic weights.
import fs from 'node:fs/promises';
import path from 'node:path';
import { onnxTypes } from '../onnx/schema.js';

export type Format = 'embedded' | 'external-single' | 'external-per-tensor';

export interface ChainSpec {
  width: number;
  layers: number;
  seed?: number;
  /** Weight layers (by index) whose values use another seed: a "fine-tuned" variant. */
  tuned?: { layers: number[]; seed: number };
  /** A fixed first dimension instead of the symbolic 'batch' (a model that cannot be batched). */
  batch?: number;
}

/** Deterministic float32 weights in [-scale/2, scale/2): the same (count, seed, scale) gives the same bytes. */
export function weights(count: number, seed: number, scale = 1): Buffer {
  const w = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    w[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return Buffer.from(w.buffer);
}

/** Writes the model; returns its path. External data files go beside it. */
export async function writeChain(
  dir: string,
  name: string,
  spec: ChainSpec,
  format: Format = 'embedded',
): Promise<string> {
  const { Model } = onnxTypes();
  await fs.mkdir(dir, { recursive: true });
  const { width, layers } = spec;
  const initializer: object[] = [];
  const node: object[] = [];
  let offset = 0;
  const single: Buffer[] = [];
  for (let i = 0; i < layers; i++) {
    const seed = spec.tuned?.layers.includes(i) ? spec.tuned.seed * 1000 + i : (spec.seed ?? 1) * 1000 + i;
    const bytes = weights(width * width, seed, 2 / Math.sqrt(width));
    const wName = `W${i}`;
    const t: Record<string, unknown> = { name: wName, dims: [width, width], dataType: 1 };
    if (format === 'embedded') t.rawData = bytes;
    else {
      const location = format === 'external-single' ? `${name}.data` : `${name}.W${i}.bin`;
      const off = format === 'external-single' ? offset : 0;
      if (format === 'external-single') {
        single.push(bytes);
        offset += bytes.length;
      } else await fs.writeFile(path.join(dir, location), bytes);
      t.dataLocation = 1;
      t.externalData = [
        { key: 'location', value: location },
        { key: 'offset', value: String(off) },
        { key: 'length', value: String(bytes.length) },
      ];
    }
    initializer.push(t);
    const input = i === 0 ? 'x' : `h${i}`;
    const mm = i === layers - 1 ? 'y' : `m${i}`;
    node.push({ input: [input, wName], output: [mm], opType: 'MatMul', name: `mm${i}` });
    if (i < layers - 1) node.push({ input: [mm], output: [`h${i + 1}`], opType: 'Relu', name: `relu${i}` });
  }
  if (format === 'external-single') await fs.writeFile(path.join(dir, `${name}.data`), Buffer.concat(single));
  const first = spec.batch === undefined ? { dimParam: 'batch' } : { dimValue: spec.batch };
  const vi = (n: string) => ({
    name: n,
    type: { tensorType: { elemType: 1, shape: { dim: [first, { dimValue: width }] } } },
  });
  const model = Model.fromObject({
    irVersion: 8,
    producerName: 'tensorshare-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name, node, initializer, input: [vi('x')], output: [vi('y')] },
  });
  const file = path.join(dir, `${name}.onnx`);
  await fs.writeFile(file, Model.encode(model).finish());
  return file;
}

export interface WeightSpec {
  rows: number;
  cols: number;
  seed: number;
}

/**
 * Writes a MatMul chain x[1,rows0] -> W0 -> W1 -> ... -> y as an ONNX file.
 * Weights with the same (rows, cols, seed) are byte-identical across models,
 * so they become one shared tensor in the store.
 */
export async function writeMatMulChain(file: string, ws: WeightSpec[]): Promise<string> {
  const { Model } = onnxTypes();
  const vi = (name: string, n: number) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: n }] } } },
  });
  const nodes = ws.map((_, i) => ({
    input: [i === 0 ? 'x' : `h${i}`, `w${i}`],
    output: [i === ws.length - 1 ? 'y' : `h${i + 1}`],
    opType: 'MatMul',
    name: `mm${i}`,
  }));
  const model = Model.fromObject({
    irVersion: 8,
    producerName: 'tensorshare-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'chain',
      node: nodes,
      initializer: ws.map((w, i) => ({
        name: `w${i}`,
        dims: [w.rows, w.cols],
        dataType: 1,
        rawData: weights(w.rows * w.cols, w.seed, 0.02),
      })),
      input: [vi('x', ws[0]!.rows)],
      output: [vi('y', ws[ws.length - 1]!.cols)],
    },
  });
  await fs.writeFile(file, Model.encode(model).finish());
  return file;
}
