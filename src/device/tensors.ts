// Tensors as bytes, the way they cross shared memory, beside onnxruntime-node
// tensors: checking a request against a model's inputs (the same 4xx a CPU
// session gives), and joining and splitting batches along axis 0 (row-major
// storage makes that a byte concatenation).
import type { Tensor } from 'onnxruntime-node';
import { TensorshareError } from '../errors.js';
import type { Dim, IoSpec } from '../store/manifest.js';
import type { HostTensor } from './transfer.js';

type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView;
  BYTES_PER_ELEMENT: number;
};

const ARRAYS: Record<string, TypedArrayCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export function elementBytes(type: string): number {
  const a = ARRAYS[type];
  if (!a)
    throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `tensor type ${type} cannot run on a device executor`, {
      dtype: type,
    });
  return a.BYTES_PER_ELEMENT;
}

export const elements = (dims: readonly number[]): number => dims.reduce((a, d) => a * d, 1);

/** A view of the bytes as the typed array onnxruntime-node wants for the type. */
export function typedView(type: string, bytes: Uint8Array): ArrayBufferView {
  const size = elementBytes(type);
  return new ARRAYS[type]!(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
}

export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** An onnxruntime-node tensor (CPU data) as host bytes. */
export function hostTensor(name: string, t: Tensor): HostTensor {
  if (t.type === 'string')
    throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `output ${name} is a string tensor; devices run numbers`, {
      name,
    });
  return { name, type: t.type, dims: [...t.dims], bytes: bytesOf(t.data as ArrayBufferView) };
}

const isFixed = (d: Dim): d is number => typeof d === 'number' && d >= 0;

/** Whether every input and output has a free first dimension: requests can then be joined along axis 0. */
export function batchable(io: { inputs: IoSpec[]; outputs: IoSpec[] }): boolean {
  const free = (s: IoSpec) => s.shape !== null && s.shape.length > 0 && !isFixed(s.shape[0]!);
  return io.inputs.length > 0 && io.inputs.every(free) && io.outputs.every(free);
}

/** Rows of the request on axis 0 (1 for models that cannot batch). */
export function checkInputs(model: string, specs: readonly IoSpec[], got: readonly HostTensor[]): void {
  const byName = new Map(got.map((t) => [t.name, t]));
  for (const t of got)
    if (!specs.some((s) => s.name === t.name))
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `model ${model} has no input '${t.name}' (inputs: ${specs.map((s) => s.name).join(', ')})`,
        { model, input: t.name },
      );
  for (const s of specs) {
    const t = byName.get(s.name);
    if (!t)
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `input '${s.name}' of model ${model} is missing`, {
        model,
        input: s.name,
      });
    if (t.type !== s.dtype)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `input '${s.name}' of model ${model} must be ${s.dtype}, got ${t.type}`,
        { model, input: s.name, expected: s.dtype, got: t.type },
      );
    if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `input '${s.name}' has an invalid shape [${t.dims}]`, {
        model,
        input: s.name,
      });
    if (s.shape) {
      const bad = s.shape.length !== t.dims.length || s.shape.some((d, i) => isFixed(d) && d !== t.dims[i]);
      if (bad)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `input '${s.name}' of model ${model} has shape [${t.dims}], the model expects [${s.shape.map((d) => (isFixed(d) ? d : (d ?? '?'))).join(',')}]`,
          { model, input: s.name, expected: s.shape, got: t.dims },
        );
    }
    const want = elements(t.dims) * elementBytes(t.type);
    if (t.bytes.byteLength !== want)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `input '${s.name}' has ${t.bytes.byteLength} bytes, shape [${t.dims}] of ${t.type} needs ${want}`,
        { model, input: s.name },
      );
  }
}

/** Rows on axis 0 of a request (its first input's first dimension). */
export const rowsOf = (inputs: readonly HostTensor[]): number => inputs[0]?.dims[0] ?? 1;

/** Whether two requests can share a batch: same inputs with the same dimensions after the first. */
export function sameTrailing(a: readonly HostTensor[], b: readonly HostTensor[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((t) => {
    const u = b.find((x) => x.name === t.name);
    return (
      !!u && u.type === t.type && u.dims.length === t.dims.length && u.dims.every((d, i) => i === 0 || d === t.dims[i])
    );
  });
}

/** Joins requests along axis 0, input by input. */
export function joinRows(requests: readonly (readonly HostTensor[])[]): HostTensor[] {
  const first = requests[0]!;
  return first.map((t) => {
    const parts = requests.map((r) => r.find((x) => x.name === t.name)!);
    const total = parts.reduce((a, p) => a + p.bytes.byteLength, 0);
    const bytes = new Uint8Array(new ArrayBuffer(total));
    let at = 0;
    for (const p of parts) {
      bytes.set(p.bytes, at);
      at += p.bytes.byteLength;
    }
    return { name: t.name, type: t.type, dims: [parts.reduce((a, p) => a + p.dims[0]!, 0), ...t.dims.slice(1)], bytes };
  });
}

/** Splits a batched output back into each request's rows; undefined when the output is not batched along axis 0. */
export function splitRows(t: HostTensor, rows: readonly number[]): HostTensor[] | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  if (t.dims[0] !== total) return undefined;
  const rowBytes = total ? t.bytes.byteLength / total : 0;
  let at = 0;
  return rows.map((n) => {
    const part = t.bytes.subarray(at, at + n * rowBytes);
    at += n * rowBytes;
    return { name: t.name, type: t.type, dims: [n, ...t.dims.slice(1)], bytes: part };
  });
}
