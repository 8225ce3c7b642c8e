// Transport-neutral inference requests: the HTTP and gRPC codecs parse their
// wire formats into a WireInferRequest (structure checked, data not yet
// typed); validateInferRequest() checks it against the model's metadata and
// produces the typed ValidatedInferRequest a backend receives. checkInferResponse()
// holds a backend's answer to the same standard before it is encoded.

import { TensorshareError } from '../../errors.js';
import {
  INT_RANGE,
  arrayFor,
  bytesOf,
  dataMatches,
  elementCount,
  elementSize,
  isDatatype,
  numbersToHalf,
  type Datatype,
  type InferResponse,
  type ModelMetadata,
  type Parameters,
  type Tensor,
  type TensorData,
  type TensorMetadata,
} from '../../tensor/index.js';
import type { ValidatedInferRequest } from './backend.js';
import { deserializeBytes, typedFromBytes } from './binary.js';
import { DECODE_LIMITS, MAX_ELEMENTS, shown, type DecodeLimits } from './limits.js';
import { badRequest } from './status.js';

/** Tensor data as it came off the wire. */
export type WirePayload =
  /** JSON `data` (flat or nested row-major) or gRPC typed contents (flat). */
  | { kind: 'values'; values: unknown }
  /** HTTP binary extension section or gRPC raw_input_contents entry. */
  | { kind: 'raw'; bytes: Uint8Array };

export interface WireInput {
  name: string;
  datatype: string;
  shape: number[];
  parameters: Parameters;
  payload: WirePayload;
}

export interface WireOutput {
  name: string;
  parameters: Parameters;
}

export interface WireInferRequest {
  id?: string;
  parameters: Parameters;
  inputs: WireInput[];
  outputs: WireOutput[];
}

/** Parameters that only steer the transport and are not passed to backends. */
const TRANSPORT_PARAMS = new Set(['binary_data', 'binary_data_size', 'binary_data_output']);

function withoutTransportParams(p: Parameters): Parameters {
  const out: Parameters = {};
  for (const [k, v] of Object.entries(p)) if (!TRANSPORT_PARAMS.has(k)) out[k] = v;
  return out;
}

export { MAX_ELEMENTS };

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
const listNames = (ts: readonly TensorMetadata[]): string => ts.map((t) => t.name).join(', ') || '(none)';

/** Elements a request has decoded so far, against the limits. */
interface Budget {
  values: number;
  bytesElements: number;
  limits: DecodeLimits;
}

export function validateInferRequest(
  model: string,
  version: string | undefined,
  wire: WireInferRequest,
  meta: ModelMetadata,
  limits: DecodeLimits = DECODE_LIMITS,
): ValidatedInferRequest {
  if (wire.inputs.length > limits.maxTensors || wire.outputs.length > limits.maxTensors) {
    throw badRequest(`request has more than ${limits.maxTensors} inputs or outputs`, { limit: limits.maxTensors });
  }
  const byName = new Map(meta.inputs.map((t) => [t.name, t]));
  const seen = new Set<string>();
  const inputs: Tensor[] = [];
  const budget: Budget = { values: 0, bytesElements: 0, limits };
  for (const w of wire.inputs) {
    const m = byName.get(w.name);
    if (!m)
      throw badRequest(`model '${model}' has no input named '${shown(w.name)}' (inputs: ${listNames(meta.inputs)})`, {
        input: shown(w.name),
      });
    if (seen.has(w.name)) throw badRequest(`input '${w.name}' is given more than once`, { input: w.name });
    seen.add(w.name);
    inputs.push(decodeInput(model, w, m, budget));
  }
  for (const m of meta.inputs) {
    if (!m.optional && !seen.has(m.name))
      throw badRequest(`missing input '${m.name}' for model '${model}'`, { input: m.name });
  }

  const outByName = new Map(meta.outputs.map((t) => [t.name, t]));
  let outputs: ValidatedInferRequest['outputs'];
  if (wire.outputs.length === 0) {
    outputs = meta.outputs.map((o) => ({ name: o.name, parameters: {} }));
  } else {
    const seenOut = new Set<string>();
    outputs = wire.outputs.map((o) => {
      if (!outByName.has(o.name)) {
        throw badRequest(
          `model '${model}' has no output named '${shown(o.name)}' (outputs: ${listNames(meta.outputs)})`,
          { output: shown(o.name) },
        );
      }
      if (seenOut.has(o.name)) throw badRequest(`output '${o.name}' is requested more than once`, { output: o.name });
      seenOut.add(o.name);
      return { name: o.name, parameters: withoutTransportParams(o.parameters) };
    });
  }

  const req: ValidatedInferRequest = { model, parameters: withoutTransportParams(wire.parameters), inputs, outputs };
  if (version !== undefined) req.version = version;
  if (wire.id !== undefined) req.id = wire.id;
  return req;
}

function decodeInput(model: string, w: WireInput, m: TensorMetadata, budget: Budget): Tensor {
  const where = `input '${w.name}'`;
  if (!isDatatype(w.datatype))
    throw badRequest(`${where} has unsupported datatype '${shown(w.datatype)}'`, { input: w.name });
  if (w.datatype !== m.datatype) {
    throw badRequest(`${where} has datatype ${w.datatype}, model '${model}' expects ${m.datatype}`, { input: w.name });
  }
  const dt = w.datatype;
  checkShape(w.shape, where, budget.limits.maxRank);
  const shapeOk = w.shape.length === m.shape.length && w.shape.every((d, i) => m.shape[i] === -1 || m.shape[i] === d);
  if (!shapeOk) {
    throw badRequest(
      `${where} has shape ${fmtShape(w.shape)}, model '${model}' expects ${fmtShape(m.shape)} (-1: any size)`,
      {
        input: w.name,
      },
    );
  }
  // An empty tensor is never what a client means, and onnxruntime answers one with its internals.
  const zero = w.shape.findIndex((d, i) => d === 0 && m.shape[i] !== 0);
  if (zero >= 0) {
    throw badRequest(
      `${where} has shape ${fmtShape(w.shape)}: dimension ${zero} is 0, so the tensor would be empty; every dimension must be at least 1`,
      {
        input: w.name,
      },
    );
  }
  const count = elementCount(w.shape);
  if (count > MAX_ELEMENTS)
    throw badRequest(`${where} declares ${count} elements, more than the limit ${MAX_ELEMENTS}`, { input: w.name });
  spend(budget, dt, w.payload.kind, count, where);

  let data: TensorData;
  if (w.payload.kind === 'raw') {
    data = decodeRaw(dt, w.payload.bytes, count, w.shape, where);
  } else {
    const flat = flattenValues(w.payload.values, w.shape.length, where);
    if (flat.length !== count) {
      throw badRequest(`${where} has ${flat.length} elements, shape ${fmtShape(w.shape)} needs ${count}`, {
        input: w.name,
      });
    }
    data = valuesToData(dt, flat, where);
  }
  const t: Tensor = { name: w.name, datatype: dt, shape: [...w.shape], data };
  const params = withoutTransportParams(w.parameters);
  if (Object.keys(params).length > 0) t.parameters = params;
  return t;
}

export function checkShape(shape: unknown, where: string, maxRank = DECODE_LIMITS.maxRank): asserts shape is number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw badRequest(`${where} has an invalid shape ${describeShape(shape)}: dimensions must be non-negative integers`);
  }
  if (shape.length > maxRank)
    throw badRequest(`${where} has ${shape.length} dimensions, more than the limit ${maxRank}`, { limit: maxRank });
}

/**
 * A client's shape for an error message: short, and built without recursion,
 * whatever the client nested or sent (JSON.stringify of a 100,000-deep array overflows the stack).
 */
export function describeShape(shape: unknown): string {
  if (!Array.isArray(shape))
    return shape === undefined
      ? 'undefined'
      : typeof shape === 'string'
        ? JSON.stringify(shown(shape, 40))
        : String(shape).slice(0, 40);
  const dims = shape
    .slice(0, 8)
    .map((d) =>
      typeof d === 'number'
        ? String(d)
        : Array.isArray(d)
          ? '[…]'
          : typeof d === 'string'
            ? JSON.stringify(shown(d, 20))
            : String(d).slice(0, 20),
    );
  return `[${dims.join(',')}${shape.length > 8 ? `,… (${shape.length} dimensions)` : ''}]`;
}

/** Counts a tensor's elements against the request's limits before any of them is decoded. */
function spend(budget: Budget, dt: Datatype, kind: WirePayload['kind'], count: number, where: string): void {
  const { limits } = budget;
  if (kind === 'values') {
    budget.values += count;
    if (budget.values > limits.maxValues) {
      throw badRequest(
        `${where} brings the request to ${budget.values} elements of JSON data or typed contents, more than the limit ${limits.maxValues}; send large tensors as binary data (binary tensor data extension, or raw_input_contents over gRPC)`,
        {
          limit: limits.maxValues,
        },
      );
    }
  }
  if (dt === 'BYTES') {
    budget.bytesElements += count;
    if (budget.bytesElements > limits.maxBytesElements) {
      throw badRequest(
        `${where} brings the request to ${budget.bytesElements} BYTES elements, more than the limit ${limits.maxBytesElements}`,
        { limit: limits.maxBytesElements },
      );
    }
  }
}

function decodeRaw(dt: Datatype, bytes: Uint8Array, count: number, shape: number[], where: string): TensorData {
  if (dt === 'BYTES') {
    const elems = deserializeBytes(bytes, count);
    if (!elems)
      throw badRequest(
        `${where} has malformed BYTES data: expected ${count} elements (shape ${fmtShape(shape)}), each a 4-byte little-endian length then its bytes`,
      );
    if (elems.length !== count)
      throw badRequest(`${where} has ${elems.length} BYTES elements, shape ${fmtShape(shape)} needs ${count}`);
    return elems;
  }
  const need = count * elementSize(dt);
  if (bytes.length !== need) {
    throw badRequest(
      `${where} has ${bytes.length} bytes of binary data, shape ${fmtShape(shape)} of ${dt} needs ${need}`,
    );
  }
  return typedFromBytes(dt, bytes);
}

const MAX_NESTING = 32;

/** Flattens row-major nested arrays; a flat array is returned as is. */
function flattenValues(values: unknown, rank: number, where: string): unknown[] {
  if (!Array.isArray(values)) {
    if (rank === 0 && values !== undefined) return [values];
    throw badRequest(`${where}: data must be an array`);
  }
  if (!values.some(Array.isArray)) return values;
  const out: unknown[] = [];
  const walk = (a: unknown[], depth: number): void => {
    if (depth > MAX_NESTING) throw badRequest(`${where}: data is nested more than ${MAX_NESTING} levels deep`);
    for (const v of a) {
      if (Array.isArray(v)) walk(v, depth + 1);
      else out.push(v);
    }
  };
  walk(values, 1);
  return out;
}

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function elementError(where: string, i: number, expected: string, v: unknown): TensorshareError {
  const shown = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v);
  return badRequest(`${where} element ${i}: expected ${expected}, got ${typeName(v)} ${shown}`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  return undefined;
}

/** Converts flat JSON / gRPC typed values to the datatype's storage, checking each element. */
export function valuesToData(dt: Datatype, flat: readonly unknown[], where: string): TensorData {
  const n = flat.length;
  switch (dt) {
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'boolean') throw elementError(where, i, 'a boolean for BOOL', v);
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'FP16':
    case 'FP32':
    case 'FP64': {
      for (let i = 0; i < n; i++)
        if (typeof flat[i] !== 'number') throw elementError(where, i, `a number for ${dt}`, flat[i]);
      const nums = flat as readonly number[];
      if (dt === 'FP16') return numbersToHalf(nums);
      return dt === 'FP32' ? Float32Array.from(nums) : Float64Array.from(nums);
    }
    case 'INT64':
    case 'UINT64': {
      const [lo, hi] = dt === 'INT64' ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
      const out = dt === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const b = toBigInt(flat[i]);
        if (b === undefined || b < lo || b > hi) throw elementError(where, i, `an integer in ${dt} range`, flat[i]);
        out[i] = b;
      }
      return out;
    }
    case 'BYTES': {
      const out: Uint8Array[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v === 'string') out[i] = bytesOf(v);
        else if (v instanceof Uint8Array) out[i] = v;
        else throw elementError(where, i, 'a string for BYTES', v);
      }
      return out;
    }
    default: {
      const [lo, hi] = INT_RANGE[dt]!;
      const Ctor = arrayFor(dt);
      const out = new Ctor(n) as Exclude<TensorData, BigInt64Array | BigUint64Array | Uint8Array[] | string[]>;
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
          throw elementError(where, i, `an integer in ${dt} range`, v);
        out[i] = v;
      }
      return out;
    }
  }
}

/**
 * Checks a backend's response against the request and returns the requested
 * outputs in request order. A malformed response is the backend's fault:
 * ERR_INTERNAL (500), naming the output.
 */
export function checkInferResponse(req: ValidatedInferRequest, res: InferResponse, meta: ModelMetadata): Tensor[] {
  const bad = (msg: string): TensorshareError =>
    new TensorshareError('ERR_INTERNAL', `model '${req.model}' returned ${msg}`, { model: req.model });
  if (!res || !Array.isArray(res.outputs)) throw bad('no outputs');
  const got = new Map(res.outputs.map((t) => [t.name, t]));
  const metaOut = new Map(meta.outputs.map((t) => [t.name, t]));
  return req.outputs.map(({ name }) => {
    const t = got.get(name);
    if (!t) throw bad(`no output '${name}'`);
    if (!isDatatype(t.datatype)) throw bad(`output '${name}' with unknown datatype '${String(t.datatype)}'`);
    const m = metaOut.get(name);
    if (m && m.datatype !== t.datatype) throw bad(`output '${name}' as ${t.datatype}, its metadata says ${m.datatype}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`output '${name}' with invalid shape ${JSON.stringify(t.shape)}`);
    }
    if (!dataMatches(t.datatype, t.data)) throw bad(`output '${name}' with data of the wrong type for ${t.datatype}`);
    const count = elementCount(t.shape);
    if (t.data.length !== count)
      throw bad(`output '${name}' with ${t.data.length} elements for shape ${fmtShape(t.shape)}`);
    return t;
  });
}
