// HTTP/REST wire format of the Open Inference Protocol, with Triton's binary
// tensor data extension: a request body may be a JSON header followed by raw
// tensor bytes (Inference-Header-Content-Length gives the JSON length; inputs
// carry parameters.binary_data_size and no data). Outputs are returned as
// binary when asked for with per-output `binary_data` or request-level
// `binary_data_output` (a per-output setting wins).

import zlib from 'node:zlib';
import { TensorshareError } from '../../errors.js';
import type { ModelMetadata, Parameters, ParamValue, Tensor } from '../../tensor/index.js';
import type { ValidatedInferRequest } from './backend.js';
import { tensorBytes } from './binary.js';
import { scanJson } from './json-scan.js';
import { jsonItems, type WithJsonText } from './json-text.js';
import { DECODE_LIMITS, shown, type DecodeLimits } from './limits.js';
import {
  describeShape,
  validateInferRequest,
  type WireInferRequest,
  type WireInput,
  type WireOutput,
} from './request.js';
import { badRequest, tooLarge } from './status.js';

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
export function headerLengthOf(
  headerValue: string | string[] | undefined,
  contentType: string | undefined,
  bodyLength: number,
): number | undefined {
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

/** The body as sent, decompressed per Content-Encoding up to `maxBytes`. */
export function decodeContentEncoding(buf: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const enc = String(encoding ?? 'identity')
    .trim()
    .toLowerCase();
  if (enc === 'identity' || enc === '') return buf;
  try {
    if (enc === 'gzip') return zlib.gunzipSync(buf, { maxOutputLength: maxBytes });
    if (enc === 'deflate') return zlib.inflateSync(buf, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(`decompressed request body is larger than the ${maxBytes}-byte limit`, maxBytes);
    }
    throw badRequest(`request body is not valid ${enc} data`);
  }
  throw badRequest(`unsupported Content-Encoding '${shown(enc, 40)}' (gzip, deflate or identity)`);
}

/** What an HTTP infer request carries, before anything is decoded. */
export interface HttpInferInput {
  body: Buffer;
  contentEncoding: string | undefined;
  headerLength: string | string[] | undefined;
  contentType: string | undefined;
  /** Largest decompressed body. */
  maxBodyBytes: number;
}

/** Which outputs go back as binary, as plain data (it crosses to and from decode workers). */
export interface BinaryOutputChoice {
  all: boolean;
  perOutput: [string, boolean][];
}

export function binaryOutputOf(choice: BinaryOutputChoice): (name: string) => boolean {
  const per = new Map(choice.perOutput);
  return (name) => per.get(name) ?? choice.all;
}

/** An HTTP infer body, decompressed, parsed and validated against `meta`: what the backend receives. */
export function decodeHttpInfer(
  input: HttpInferInput,
  model: string,
  version: string | undefined,
  meta: ModelMetadata,
  limits: DecodeLimits = DECODE_LIMITS,
): { request: ValidatedInferRequest; binaryOutput: BinaryOutputChoice } {
  const body = decodeContentEncoding(input.body, input.contentEncoding, input.maxBodyBytes);
  const headerLength = headerLengthOf(input.headerLength, input.contentType, body.length);
  const parsed = parseHttpInferBody(body, headerLength, limits);
  return {
    request: validateInferRequest(model, version, parsed.wire, meta, limits),
    binaryOutput: parsed.binaryOutputChoice,
  };
}

function checkName(name: string, what: string, limits: DecodeLimits): void {
  if (Buffer.byteLength(name) > limits.maxNameBytes)
    throw badRequest(`${what} '${shown(name)}' is longer than ${limits.maxNameBytes} bytes`, {
      limit: limits.maxNameBytes,
    });
}

function parseParameters(v: unknown, where: string, limits: DecodeLimits = DECODE_LIMITS): Parameters {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw badRequest(`${where}: parameters must be an object`);
  const out: Parameters = {};
  const entries = Object.entries(v);
  if (entries.length > limits.maxParameters)
    throw badRequest(`${where} has more than ${limits.maxParameters} parameters`, { limit: limits.maxParameters });
  for (const [k, p] of entries) {
    checkName(k, `${where}: parameter`, limits);
    if (typeof p === 'string' || typeof p === 'number' || typeof p === 'boolean') out[k] = p as ParamValue;
    else throw badRequest(`${where}: parameter '${k}' must be a string, number or boolean`);
  }
  return out;
}

/** Parses an infer request body (plain JSON or JSON + binary tensor data). */
export function parseHttpInferBody(
  body: Buffer,
  headerLength: number | undefined,
  limits: DecodeLimits = DECODE_LIMITS,
): HttpInferBody & { binaryOutputChoice: BinaryOutputChoice } {
  const jsonEnd = headerLength ?? body.length;
  scanJson(body, jsonEnd, limits);
  let doc: unknown;
  try {
    doc = JSON.parse(body.subarray(0, jsonEnd).toString('utf8'));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw badRequest(`request body is not valid JSON: ${why}`);
  }
  if (!isPlainObject(doc)) throw badRequest('request body must be a JSON object');

  if (doc.id !== undefined && typeof doc.id !== 'string') throw badRequest("request 'id' must be a string");
  if (typeof doc.id === 'string') checkName(doc.id, "request 'id'", limits);
  const parameters = parseParameters(doc.parameters, 'request', limits);

  const rawInputs = doc.inputs;
  if (!Array.isArray(rawInputs)) throw badRequest("request must have an 'inputs' array");
  if (rawInputs.length > limits.maxTensors)
    throw badRequest(`request has more than ${limits.maxTensors} inputs`, { limit: limits.maxTensors });

  let offset = jsonEnd;
  const inputs: WireInput[] = rawInputs.map((ri, i) => {
    if (!isPlainObject(ri)) throw badRequest(`inputs[${i}] must be an object`);
    const name = ri.name;
    if (typeof name !== 'string' || name === '') throw badRequest(`inputs[${i}] must have a non-empty string 'name'`);
    checkName(name, `inputs[${i}] name`, limits);
    const where = `input '${name}'`;
    if (typeof ri.datatype !== 'string') throw badRequest(`${where} must have a string 'datatype'`);
    checkName(ri.datatype, `${where}: datatype`, limits);
    const shape = ri.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw badRequest(
        `${where} has an invalid shape ${describeShape(shape)}: dimensions must be non-negative integers`,
      );
    }
    const params = parseParameters(ri.parameters, where, limits);
    const size = params.binary_data_size;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw badRequest(`${where}: binary_data_size must be a non-negative integer`);
      }
      if (ri.data !== undefined) throw badRequest(`${where} has both 'data' and binary_data_size`);
      if (headerLength === undefined) {
        throw badRequest(
          `${where} declares binary_data_size but the request has no Inference-Header-Content-Length header`,
        );
      }
      if (offset + size > body.length) {
        throw badRequest(
          `${where} declares ${size} bytes of binary data, only ${body.length - offset} remain in the body`,
        );
      }
      const bytes = body.subarray(offset, offset + size);
      offset += size;
      return {
        name,
        datatype: ri.datatype,
        shape: shape as number[],
        parameters: params,
        payload: { kind: 'raw', bytes },
      };
    }
    if (ri.data === undefined) throw badRequest(`${where} has no 'data' (and no binary_data_size)`);
    return {
      name,
      datatype: ri.datatype,
      shape: shape as number[],
      parameters: params,
      payload: { kind: 'values', values: ri.data },
    };
  });
  if (offset !== body.length) {
    throw badRequest(
      `request body has ${body.length - offset} bytes of binary data beyond what the inputs' binary_data_size declare`,
    );
  }

  const rawOutputs = doc.outputs ?? [];
  if (!Array.isArray(rawOutputs)) throw badRequest("request 'outputs' must be an array");
  if (rawOutputs.length > limits.maxTensors)
    throw badRequest(`request has more than ${limits.maxTensors} outputs`, { limit: limits.maxTensors });
  const outputs: WireOutput[] = rawOutputs.map((ro, i) => {
    if (!isPlainObject(ro)) throw badRequest(`outputs[${i}] must be an object`);
    const name = ro.name;
    if (typeof name !== 'string' || name === '') throw badRequest(`outputs[${i}] must have a non-empty string 'name'`);
    checkName(name, `outputs[${i}] name`, limits);
    return { name, parameters: parseParameters(ro.parameters, `output '${name}'`, limits) };
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
  const binaryOutputChoice: BinaryOutputChoice = { all, perOutput: [...perOutput] };
  return { wire, binaryOutput: binaryOutputOf(binaryOutputChoice), binaryOutputChoice };
}

export interface HttpBody {
  /**
   * The body in order: the JSON (in one or more chunks), then each binary output's bytes. Sent as
   * they are: concatenating a 66 MB output into one buffer held the event
   * loop about 250 ms (measured).
   */
  parts: Buffer[];
  /** Bytes of all parts. */
  length: number;
  contentType: string;
  /** Set when binary sections follow the JSON: the Inference-Header-Content-Length value. */
  headerLength?: number;
}

/** First and largest chunk of a JSON response's text. */
const JSON_START_BYTES = 16 * 1024;
const JSON_MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/** Elements formatted per step of a JSON response, between which the event loop gets a turn. */
const JSON_CHUNK = 1 << 16;

/** A response whose JSON would be over `limit` bytes: the client can ask for binary outputs instead. */
export function responseTooLarge(what: string, limit: number): TensorshareError {
  return new TensorshareError(
    'ERR_INVALID_ARGUMENT',
    `${what} would be larger than the ${limit}-byte limit on JSON responses; ask for binary outputs with the binary tensor data extension ("parameters": {"binary_data_output": true})`,
    { responseTooLarge: true, limit },
  );
}

/**
 * Encodes an infer response; `outputs` are already checked (checkInferResponse).
 * An output's JSON text that its instance wrote (`jsonText`) is spliced in as
 * it is; other JSON data is formatted a chunk at a time, yielding between
 * chunks. Either is refused once it passes `maxJsonBytes`: a large output
 * never holds the event loop or grows one string past what V8 allows.
 */
export async function encodeHttpInferResponse(
  req: ValidatedInferRequest,
  res: { model?: string; version?: string; parameters?: Parameters },
  outputs: WithJsonText<Tensor>[],
  binaryOutput: (name: string) => boolean,
  maxJsonBytes: number = DECODE_LIMITS.maxJsonResponseBytes,
): Promise<HttpBody> {
  // Each JSON element takes at least one character and a comma: refuse what cannot fit before formatting any of it.
  const least = outputs.reduce((n, t) => (binaryOutput(t.name) ? n : n + 2 * t.data.length), 0);
  if (least > maxJsonBytes) throw responseTooLarge(`the JSON response (at least ${least} bytes)`, maxJsonBytes);
  const binaries: Buffer[] = [];
  // Written into chunks that double in size up to 4 MiB, never copied: a
  // buffer per ~100 KB piece came from malloc's heap, which kept the
  // gateway's RSS 60 MiB up after a refused 64 MiB response, and one buffer
  // grown by copying held the event loop for each copy.
  const json: Buffer[] = [];
  let chunk = Buffer.allocUnsafe(JSON_START_BYTES);
  let used = 0;
  let jsonBytes = 0;
  const put = (text: string): void => {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (jsonBytes + bytes > maxJsonBytes) throw responseTooLarge('the JSON response', maxJsonBytes);
    if (used + bytes > chunk.length) {
      json.push(chunk.subarray(0, used));
      chunk = Buffer.allocUnsafe(Math.max(bytes, Math.min(JSON_MAX_CHUNK_BYTES, chunk.length * 2)));
      used = 0;
    }
    used += chunk.write(text, used, 'utf8');
    jsonBytes += bytes;
  };
  // Text written elsewhere goes in as its own part, uncopied.
  const putBytes = (text: Uint8Array): void => {
    if (jsonBytes + text.length > maxJsonBytes) throw responseTooLarge('the JSON response', maxJsonBytes);
    if (used > 0) json.push(chunk.subarray(0, used));
    json.push(Buffer.from(text.buffer, text.byteOffset, text.length));
    chunk = chunk.subarray(used);
    used = 0;
    jsonBytes += text.length;
  };
  let head = `{"model_name":${JSON.stringify(res.model ?? req.model)}`;
  const version = res.version ?? req.version;
  if (version !== undefined) head += `,"model_version":${JSON.stringify(version)}`;
  if (req.id !== undefined) head += `,"id":${JSON.stringify(req.id)}`;
  if (res.parameters && Object.keys(res.parameters).length > 0)
    head += `,"parameters":${JSON.stringify(res.parameters)}`;
  put(`${head},"outputs":[`);
  for (const [i, t] of outputs.entries()) {
    const params: Parameters = { ...(t.parameters ?? {}) };
    const asBinary = binaryOutput(t.name);
    if (asBinary) {
      const bytes = tensorBytes(t.datatype, t.data);
      binaries.push(bytes);
      params.binary_data_size = bytes.length;
    }
    const p = Object.keys(params).length > 0 ? `,"parameters":${JSON.stringify(params)}` : '';
    put(
      `${i > 0 ? ',' : ''}{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}]${p}`,
    );
    const written = t.jsonText?.length === 1 ? t.jsonText[0] : undefined;
    if (!asBinary && written) {
      put(',"data":[');
      putBytes(written);
      put(']');
    } else if (!asBinary) {
      put(',"data":[');
      for (let from = 0; from < t.data.length; from += JSON_CHUNK) {
        if (from > 0) {
          put(',');
          await new Promise((r) => setImmediate(r));
        }
        put(jsonItems(t, from, Math.min(t.data.length, from + JSON_CHUNK)));
      }
      put(']');
    }
    put('}');
  }
  put(']}');
  json.push(chunk.subarray(0, used));
  if (binaries.length === 0) return { parts: json, length: jsonBytes, contentType: 'application/json' };
  return {
    parts: [...json, ...binaries],
    length: binaries.reduce((n, b) => n + b.length, jsonBytes),
    contentType: 'application/octet-stream',
    headerLength: jsonBytes,
  };
}

/** Model metadata as JSON (shapes with -1 for dynamic dimensions). */
export function metadataJson(m: ModelMetadata): object {
  const tm = (t: ModelMetadata['inputs'][number]) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return {
    name: m.name,
    versions: m.versions,
    platform: m.platform,
    inputs: m.inputs.map(tm),
    outputs: m.outputs.map(tm),
  };
}
