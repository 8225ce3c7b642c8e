// Batch-axis helpers: concatenate requests' tensors along axis 0 before a
// batched run and split the outputs back, plus the test that decides whether a
// model can be batched at all. Pure functions over src/tensor's
// `TensorValue` `{datatype, shape, data}`; BYTES tensors carry `string[]` or
// `Uint8Array[]`.

import { TensorshareError } from '../errors.js';
import { elementCount, type Dim, type NumericData, type TensorData, type TensorValue } from '../tensor/index.js';

/** Tensors by input or output name. */
export type NamedTensors = Record<string, TensorValue>;

/** Validates `t` for batching; returns its size on axis 0. */
function checkTensor(t: TensorValue, what: string): number {
  const [rows] = t.shape;
  if (rows === undefined) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${what} is a scalar; it has no batch axis to concatenate or split`,
      { what },
    );
  }
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} has an invalid shape [${t.shape}]`, {
      what,
      shape: t.shape,
    });
  }
  const want = elementCount(t.shape);
  if (t.data.length !== want) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${what} has ${t.data.length} elements, shape [${t.shape}] needs ${want}`,
      { what, shape: t.shape, length: t.data.length },
    );
  }
  return rows;
}

/**
 * Concatenates tensors along axis 0. All must share datatype, data kind and
 * the trailing dimensions. Returns the joined tensor and each part's size on
 * axis 0 (pass `sizes` to `splitTensor` to undo). Data is copied.
 */
export function concatTensors(
  parts: readonly TensorValue[],
  name = 'tensor',
): { tensor: TensorValue; sizes: number[] } {
  const [first] = parts;
  if (first === undefined)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `cannot concatenate zero tensors for ${name}`, { name });
  checkTensor(first, `${name} (part 0)`);
  const inner = first.shape.slice(1);
  const isStrings = Array.isArray(first.data);
  const sizes: number[] = [];
  let total = 0;
  parts.forEach((p, i) => {
    const what = `${name} (part ${i})`;
    const rows = checkTensor(p, what);
    if (p.datatype !== first.datatype) {
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} is ${p.datatype}, part 0 is ${first.datatype}`, {
        name,
        index: i,
      });
    }
    const sameKind = isStrings
      ? Array.isArray(p.data)
      : !Array.isArray(p.data) && p.data.constructor === first.data.constructor;
    if (!sameKind) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `${what} stores its data as ${p.data.constructor.name}, part 0 as ${first.data.constructor.name}`,
        { name, index: i },
      );
    }
    if (p.shape.length !== first.shape.length || p.shape.some((d, k) => k > 0 && d !== first.shape[k])) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `${what} has shape [${p.shape}], incompatible with [${first.shape}] past axis 0`,
        { name, index: i, shape: p.shape },
      );
    }
    sizes.push(rows);
    total += rows;
  });
  const shape = [total, ...inner];
  let data: TensorData;
  if (isStrings) {
    data = ([] as (string | Uint8Array)[]).concat(...parts.map((p) => p.data as (string | Uint8Array)[])) as TensorData;
  } else {
    const Ctor = first.data.constructor as new (n: number) => NumericData;
    const out = new Ctor(elementCount(shape));
    let offset = 0;
    for (const p of parts) {
      (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data as ArrayLike<unknown>, offset);
      offset += p.data.length;
    }
    data = out;
  }
  return { tensor: { datatype: first.datatype, shape, data }, sizes };
}

/**
 * Splits a tensor along axis 0 into parts of the given sizes (their sum must
 * equal shape[0]). Typed-array parts are views on the input's buffer, not copies.
 */
export function splitTensor(t: TensorValue, sizes: readonly number[], name = 'tensor'): TensorValue[] {
  const rows = checkTensor(t, name);
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (sum !== rows || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${name} has ${rows} rows on axis 0, cannot split it into [${sizes}]`,
      { name, shape: t.shape, sizes },
    );
  }
  const rowLen = elementCount(t.shape.slice(1));
  const out: TensorValue[] = [];
  let row = 0;
  for (const s of sizes) {
    const begin = row * rowLen;
    const end = (row + s) * rowLen;
    const data = (Array.isArray(t.data) ? t.data.slice(begin, end) : t.data.subarray(begin, end)) as TensorData;
    out.push({ datatype: t.datatype, shape: [s, ...t.shape.slice(1)], data });
    row += s;
  }
  return out;
}

/**
 * Concatenates each named input across requests. Every request must supply
 * the same input names. `sizes[i]` is request i's size on axis 0 (taken from
 * its first input; all of its inputs must agree).
 */
export function concatInputs(requests: readonly NamedTensors[]): { inputs: NamedTensors; sizes: number[] } {
  const [first] = requests;
  if (first === undefined) throw new TensorshareError('ERR_INVALID_ARGUMENT', 'cannot batch zero requests');
  const names = Object.keys(first).sort();
  if (names.length === 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', 'request 0 has no inputs');
  requests.forEach((r, i) => {
    const own = Object.keys(r).sort();
    if (own.join('\0') !== names.join('\0')) {
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `request ${i} has inputs [${own}], request 0 has [${names}]`, {
        index: i,
      });
    }
    const rows = new Set(names.map((n) => inputOf(r, n, i).shape[0]));
    if (rows.size !== 1) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `request ${i} has inputs of different sizes on axis 0: [${[...rows]}]`,
        { index: i },
      );
    }
  });
  const inputs: NamedTensors = {};
  let sizes: number[] = [];
  for (const n of names) {
    const joined = concatTensors(
      requests.map((r, i) => inputOf(r, n, i)),
      n,
    );
    inputs[n] = joined.tensor;
    // Every input of a request has the same size on axis 0 (checked above), so any input's sizes will do.
    sizes = joined.sizes;
  }
  return { inputs, sizes };
}

function inputOf(request: NamedTensors, name: string, index: number): TensorValue {
  const t = request[name];
  if (t === undefined)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `request ${index} has no input ${name}`, { index, name });
  return t;
}

/** Splits every named output by `sizes` (from `concatInputs`): one NamedTensors per request. */
export function splitOutputs(outputs: NamedTensors, sizes: readonly number[]): NamedTensors[] {
  const result: NamedTensors[] = sizes.map(() => ({}));
  for (const [n, t] of Object.entries(outputs)) {
    // splitTensor returns one part per size, so result[i] exists.
    splitTensor(t, sizes, n).forEach((part, i) => {
      result[i]![n] = part;
    });
  }
  return result;
}

/** A stable key for the shapes past axis 0: requests batch together only when their keys match. */
export function shapeKey(inputs: NamedTensors): string {
  return Object.entries(inputs)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, t]) => `${n}:${t.datatype}[${t.shape.slice(1).join(',')}]`)
    .join(';');
}

/** An input or output as ONNX Runtime's `inputMetadata`/`outputMetadata` describe it (only the shape is used). */
export interface ValueShape {
  name?: string;
  isTensor?: boolean;
  shape?: ReadonlyArray<Dim | undefined>;
}

/** True when a dimension is dynamic: negative, symbolic (a name), or absent. */
export function isDynamicDim(d: Dim | undefined): boolean {
  return d === null || d === undefined || typeof d === 'string' || d < 0;
}

/**
 * A model is batchable when every input and output has rank >= 1 and a
 * dynamic first dimension (-1, symbolic or absent). Shapes as ONNX Runtime's
 * `inputMetadata`/`outputMetadata` report them; an unknown rank (empty shape)
 * counts as not batchable, and so does a value with no shape (non-tensor).
 */
export function isBatchable(model: { inputs: ReadonlyArray<ValueShape>; outputs: ReadonlyArray<ValueShape> }): boolean {
  const all = [...model.inputs, ...model.outputs];
  // A value without a shape (ORT's non-tensor metadata: sequences, maps) cannot be split.
  return (
    model.inputs.length > 0 &&
    model.outputs.length > 0 &&
    all.every((v) => v.shape !== undefined && v.shape.length > 0 && isDynamicDim(v.shape[0]))
  );
}
