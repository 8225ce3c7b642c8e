// HTTP/REST wire format of the Open Inference Protocol, with Triton's binary
// tensor data extension: a request body may be a JSON header followed by raw
// tensor bytes (Inference-Header-Content-Length gives the JSON length; inputs
// carry parameters.binary_data_size and no data). Outputs are returned as
// binary when asked for with per-output `binary_data` or request-level
// `binary_data_output` (a per-output setting wins).

import { bytesToStrings, halfToNumber, type ModelMetadata, type NumericData, type Parameters, type ParamValue, type Tensor } from '../../tensor/index.js';
import type { ValidatedInferRequest } from './backend.js';
import { tensorBytes } from './binary.js';
import type { WireInferRequest, WireInput, WireOutput } from './request.js';
import { badRequest } from './status.js';

export const HEADER_LENGTH_HEADER = 'inference-header-content-length';

export interface HttpInferBody {
  wire: WireInferRequest;
  /** Whether output `name` goes back as binary. */
  binaryOutput: (name: string) => boolean;
}

/**
 * The JSON header length of a binary request: the Inference-Header-Content-Length
 * header, or SageMaker's `json-header-size` content-type parameter; undefined
 * for a plain JSON body.
 */
export function headerLengthOf(headerValue: string | string[] | undefined, contentType: string | undefined, bodyLength: number): number | undefined {
  let raw: string | undefined = Array.isArray(headerValue) ? headerValue[0] : headerValue;
  if (raw === undefined && contentType) {
    const m = /;\s*json-header-size\s*=\s*(\d+)/i.exec(contentType);
    if (m) raw = m[1];
  }
  if (raw === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n > bodyLength) {
    throw badRequest(`Inference-Header-Content-Length '${raw}' is not a length within the ${bodyLength}-byte body`);
  }
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseParameters(v: unknown, where: string): Parameters {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw badRequest(`${where}: parameters must be an object`);
  const out: Parameters = {};
  for (const [k, p] of Object.entries(v)) {
    if (typeof p === 'string' || typeof p === 'number' || typeof p === 'boolean') out[k] = p as ParamValue;
    else throw badRequest(`${where}: parameter '${k}' must be a string, number or boolean`);
  }
  return out;
}

/** Parses an infer request body (plain JSON or JSON + binary tensor data). */
export function parseHttpInferBody(body: Buffer, headerLength: number | undefined): HttpInferBody {
  const jsonEnd = headerLength ?? body.length;
  let doc: unknown;
  try {
    doc = JSON.parse(body.subarray(0, jsonEnd).toString('utf8'));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw badRequest(`request body is not valid JSON: ${why}`);
  }
  if (!isPlainObject(doc)) throw badRequest('request body must be a JSON object');

  if (doc.id !== undefined && typeof doc.id !== 'string') throw badRequest("request 'id' must be a string");
  const parameters = parseParameters(doc.parameters, 'request');

  const rawInputs = doc.inputs;
  if (!Array.isArray(rawInputs)) throw badRequest("request must have an 'inputs' array");

  let offset = jsonEnd;
  const inputs: WireInput[] = rawInputs.map((ri, i) => {
    if (!isPlainObject(ri)) throw badRequest(`inputs[${i}] must be an object`);
    const name = ri.name;
    if (typeof name !== 'string' || name === '') throw badRequest(`inputs[${i}] must have a non-empty string 'name'`);
    const where = `input '${name}'`;
    if (typeof ri.datatype !== 'string') throw badRequest(`${where} must have a string 'datatype'`);
    const shape = ri.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw badRequest(`${where} has an invalid shape ${JSON.stringify(shape) ?? 'undefined'}: dimensions must be non-negative integers`);
    }
    const params = parseParameters(ri.parameters, where);
    const size = params.binary_data_size;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw badRequest(`${where}: binary_data_size must be a non-negative integer`);
      }
      if (ri.data !== undefined) throw badRequest(`${where} has both 'data' and binary_data_size`);
      if (headerLength === undefined) {
        throw badRequest(`${where} declares binary_data_size but the request has no Inference-Header-Content-Length header`);
      }
      if (offset + size > body.length) {
        throw badRequest(`${where} declares ${size} bytes of binary data, only ${body.length - offset} remain in the body`);
      }
      const bytes = body.subarray(offset, offset + size);
      offset += size;
      return { name, datatype: ri.datatype, shape: shape as number[], parameters: params, payload: { kind: 'raw', bytes } };
    }
    if (ri.data === undefined) throw badRequest(`${where} has no 'data' (and no binary_data_size)`);
    return { name, datatype: ri.datatype, shape: shape as number[], parameters: params, payload: { kind: 'values', values: ri.data } };
  });
  if (offset !== body.length) {
    throw badRequest(`request body has ${body.length - offset} bytes of binary data beyond what the inputs' binary_data_size declare`);
  }

  const rawOutputs = doc.outputs ?? [];
  if (!Array.isArray(rawOutputs)) throw badRequest("request 'outputs' must be an array");
  const outputs: WireOutput[] = rawOutputs.map((ro, i) => {
    if (!isPlainObject(ro)) throw badRequest(`outputs[${i}] must be an object`);
    const name = ro.name;
    if (typeof name !== 'string' || name === '') throw badRequest(`outputs[${i}] must have a non-empty string 'name'`);
    return { name, parameters: parseParameters(ro.parameters, `output '${name}'`) };
  });

  const all = parameters.binary_data_output === true;
  const perOutput = new Map<string, boolean>();
  for (const o of outputs) {
    const b = o.parameters.binary_data;
    if (b !== undefined) {
      if (typeof b !== 'boolean') throw badRequest(`output '${o.name}': binary_data must be a boolean`);
      perOutput.set(o.name, b);
    }
  }
  const wire: WireInferRequest = { parameters, inputs, outputs };
  if (typeof doc.id === 'string') wire.id = doc.id;
  return { wire, binaryOutput: (name) => perOutput.get(name) ?? all };
}

export interface HttpBody {
  body: Buffer;
  contentType: string;
  /** Set when binary sections follow the JSON: the Inference-Header-Content-Length value. */
  headerLength?: number;
}

/** Encodes an infer response; `outputs` are already checked (checkInferResponse). */
export function encodeHttpInferResponse(
  req: ValidatedInferRequest,
  res: { model?: string; version?: string; parameters?: Parameters },
  outputs: Tensor[],
  binaryOutput: (name: string) => boolean,
): HttpBody {
  const binaries: Buffer[] = [];
  const parts: string[] = [];
  for (const t of outputs) {
    const params: Parameters = { ...(t.parameters ?? {}) };
    let data = '';
    if (binaryOutput(t.name)) {
      const bytes = tensorBytes(t.datatype, t.data);
      binaries.push(bytes);
      params.binary_data_size = bytes.length;
    } else {
      data = `,"data":${jsonData(t)}`;
    }
    const p = Object.keys(params).length > 0 ? `,"parameters":${JSON.stringify(params)}` : '';
    parts.push(`{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}]${p}${data}}`);
  }
  let head = `{"model_name":${JSON.stringify(res.model ?? req.model)}`;
  const version = res.version ?? req.version;
  if (version !== undefined) head += `,"model_version":${JSON.stringify(version)}`;
  if (req.id !== undefined) head += `,"id":${JSON.stringify(req.id)}`;
  if (res.parameters && Object.keys(res.parameters).length > 0) head += `,"parameters":${JSON.stringify(res.parameters)}`;
  const json = Buffer.from(`${head},"outputs":[${parts.join(',')}]}`, 'utf8');
  if (binaries.length === 0) return { body: json, contentType: 'application/json' };
  return { body: Buffer.concat([json, ...binaries]), contentType: 'application/octet-stream', headerLength: json.length };
}

const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/** Flat JSON array text of a tensor's data; 64-bit integers are written exactly. */
function jsonData(t: Tensor): string {
  switch (t.datatype) {
    case 'BYTES':
      return JSON.stringify(bytesToStrings(t.data as Uint8Array[] | string[]));
    case 'BOOL':
      return `[${Array.from(t.data as Uint8Array, (v) => (v ? 'true' : 'false')).join(',')}]`;
    case 'FP16':
      return `[${Array.from(t.data as Uint16Array, (h) => num(halfToNumber(h))).join(',')}]`;
    case 'FP32':
    case 'FP64':
      return `[${Array.from(t.data as Float32Array | Float64Array, num).join(',')}]`;
    default:
      return `[${(t.data as NumericData).join(',')}]`;
  }
}

/** Model metadata as JSON (shapes with -1 for dynamic dimensions). */
export function metadataJson(m: ModelMetadata): object {
  const tm = (t: ModelMetadata['inputs'][number]) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs.map(tm), outputs: m.outputs.map(tm) };
}
