// Deterministic input feeds built from a session's input metadata and a
// caller-supplied plain-data spec, so every benchmark process of every mode
// runs the same inference and a fast-run variant is probed with the model's
// own inputs. Returns plain typed arrays; the caller wraps them
// in onnxruntime Tensors (this file does not load onnxruntime).
import { TensorshareError } from '../errors.js';
import { hashString, seededFloats } from '../prng.js';
import { numbersToHalf } from './fp16.js';

export type Fill =
  | { kind: 'uniform'; min?: number; max?: number; seed?: number }
  | { kind: 'constant'; value: number }
  /** 0, 1, 2, ... modulo `mod` (default 100): token ids, positions. */
  | { kind: 'range'; mod?: number };

export interface InputSpec {
  /** Full shape; default: the model's shape with symbolic dims resolved through `dims`. */
  shape?: readonly number[];
  fill?: Fill;
}

export interface FeedsSpec {
  /** Size of each symbolic dimension by name (e.g. {batch: 8, sequence: 128}); unnamed or unknown ones are 1. */
  dims?: Readonly<Record<string, number>>;
  /** Per input name; inputs not listed get the default fill. */
  inputs?: Readonly<Record<string, InputSpec>>;
}

/** The part of onnxruntime's InferenceSession.ValueMetadata this needs. */
export type InputMetadata =
  | { name: string; isTensor: false }
  | { name: string; isTensor: true; type: string; shape: ReadonlyArray<number | string> };

export type FeedData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface FeedPlan {
  name: string;
  /** onnxruntime Tensor type name: float32, int64, bool, float16, ... */
  type: string;
  dims: number[];
  data: FeedData;
}

function values(count: number, fill: Fill, seed: number): number[] {
  switch (fill.kind) {
    case 'constant':
      return new Array<number>(count).fill(fill.value);
    case 'range': {
      const mod = fill.mod ?? 100;
      return Array.from({ length: count }, (_, i) => i % mod);
    }
    case 'uniform': {
      const min = fill.min ?? -1;
      const max = fill.max ?? 1;
      const u = seededFloats(count, fill.seed ?? seed, 1); // [-1, 1)
      return Array.from(u, (x) => min + ((x + 1) / 2) * (max - min));
    }
  }
}

function typed(type: string, v: number[], name: string): FeedData {
  switch (type) {
    case 'float32':
      return Float32Array.from(v);
    case 'float64':
      return Float64Array.from(v);
    case 'float16':
      return numbersToHalf(v);
    case 'int8':
      return Int8Array.from(v, Math.round);
    case 'uint8':
      return Uint8Array.from(v, Math.round);
    case 'bool':
      return Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0));
    case 'int16':
      return Int16Array.from(v, Math.round);
    case 'uint16':
      return Uint16Array.from(v, Math.round);
    case 'int32':
      return Int32Array.from(v, Math.round);
    case 'uint32':
      return Uint32Array.from(v, Math.round);
    case 'int64':
      return BigInt64Array.from(v, (x) => BigInt(Math.round(x)));
    case 'uint64':
      return BigUint64Array.from(v, (x) => BigInt(Math.round(x)));
    default:
      throw new TensorshareError(
        'ERR_UNSUPPORTED_DTYPE',
        `input "${name}" has type ${type}, which benchmark feeds cannot fill`,
        { input: name, type },
      );
  }
}

function isFloat(type: string): boolean {
  return type === 'float32' || type === 'float64' || type === 'float16' || type === 'bfloat16';
}

/** Plans one feed per model input, in metadata order. */
export function planFeeds(inputs: readonly InputMetadata[], spec: FeedsSpec = {}): FeedPlan[] {
  const known = new Set(inputs.map((i) => i.name));
  for (const name of Object.keys(spec.inputs ?? {})) {
    if (!known.has(name)) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `feeds spec names input "${name}", but the model's inputs are ${[...known].join(', ')}`,
        { input: name },
      );
    }
  }
  return inputs.map((meta) => {
    if (!meta.isTensor)
      throw new TensorshareError('ERR_INVALID_MODEL', `input "${meta.name}" is not a tensor`, { input: meta.name });
    const own = spec.inputs?.[meta.name];
    const dims = own?.shape
      ? [...own.shape]
      : meta.shape.map((d) =>
          typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? (spec.dims?.[d] ?? 1) : 1,
        );
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `input "${meta.name}" resolves to invalid shape [${dims.join(', ')}]`,
        );
    }
    const count = dims.reduce((a, b) => a * b, 1);
    const fill: Fill =
      own?.fill ??
      (isFloat(meta.type)
        ? { kind: 'uniform' }
        : meta.type === 'bool'
          ? { kind: 'constant', value: 1 }
          : { kind: 'range' });
    return {
      name: meta.name,
      type: meta.type,
      dims,
      data: typed(meta.type, values(count, fill, hashString(meta.name)), meta.name),
    };
  });
}
