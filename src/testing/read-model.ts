// Reads generated models back (whole file in memory): for tests and small
// models only. src/onnx owns the streaming scanner for real workloads.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { onnxTypes, TO_OBJECT } from '../onnx/schema.js';

export interface DecodedTensor {
  name: string;
  dims: number[];
  dataType: number;
  data: Uint8Array;
  external?: { location: string; offset: number; length: number };
}

interface RawTensor {
  name: string;
  dims: Array<number | { toNumber(): number }>;
  dataType: number;
  rawData?: Uint8Array;
  dataLocation?: number;
  externalData?: Array<{ key: string; value: string }>;
}

/** Decoded ModelProto as a plain object (int64 fields as numbers). */
export async function readModelProto(modelPath: string): Promise<Record<string, unknown>> {
  const { Model } = onnxTypes();
  return Model.toObject(Model.decode(await readFile(modelPath)), TO_OBJECT) as Record<string, unknown>;
}

/** All initializers of a model with their bytes, following external data references. */
export async function readInitializers(modelPath: string): Promise<Map<string, DecodedTensor>> {
  const model = await readModelProto(modelPath);
  const graph = model.graph as { initializer?: RawTensor[] };
  const files = new Map<string, Buffer>();
  const out = new Map<string, DecodedTensor>();
  for (const t of graph.initializer ?? []) {
    const dims = t.dims.map((d) => (typeof d === 'number' ? d : d.toNumber()));
    if (t.dataLocation === 1) {
      const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      const location = kv.location;
      if (!location)
        throw new TensorshareError('ERR_INVALID_MODEL', `${modelPath}: tensor ${t.name} has no external location`);
      const offset = Number(kv.offset ?? 0);
      const file = path.join(path.dirname(modelPath), location);
      let buf = files.get(file);
      if (!buf) {
        buf = await readFile(file);
        files.set(file, buf);
      }
      const length = kv.length === undefined ? buf.length - offset : Number(kv.length);
      out.set(t.name, {
        name: t.name,
        dims,
        dataType: t.dataType,
        data: buf.subarray(offset, offset + length),
        external: { location, offset, length },
      });
    } else {
      out.set(t.name, { name: t.name, dims, dataType: t.dataType, data: t.rawData ?? new Uint8Array(0) });
    }
  }
  return out;
}
