// gRPC wire format of the Open Inference Protocol: loading the service
// definition (proto/kserve/grpc_predict_v2.proto) and converting its
// ModelInfer messages to and from the transport-neutral forms. Messages are
// plain objects as @grpc/proto-loader decodes them with LOADER_OPTIONS:
// snake_case field names, int64 as decimal strings, bytes as Buffers, unset
// fields present with defaults, oneofs named by `parameter_choice`.

import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { InferRequest, Parameters, ParamValue, Tensor } from './backend.js';
import { bytesElements, tensorBytes, type DataType } from './datatypes.js';
import type { WireInferRequest, WireInput } from './request.js';
import { badRequest } from './status.js';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const PREDICT_PROTO = path.join('kserve', 'grpc_predict_v2.proto');

/** The GRPCInferenceService definition and client constructor, loaded from `protoDir`. */
export function loadInferenceService(protoDir: string): {
  service: grpc.ServiceDefinition;
  Client: grpc.ServiceClientConstructor;
} {
  const def = protoLoader.loadSync(path.join(protoDir, PREDICT_PROTO), { ...LOADER_OPTIONS, includeDirs: [protoDir] });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  const Client = pkg.inference.GRPCInferenceService;
  return { service: Client.service, Client };
}

// --- message shapes (as decoded with LOADER_OPTIONS) ------------------------

export interface GrpcParam {
  parameter_choice?: string;
  bool_param?: boolean;
  int64_param?: string | number;
  string_param?: string;
  double_param?: number;
  uint64_param?: string | number;
  bytes_param?: Buffer;
}
export type GrpcParams = Record<string, GrpcParam>;

export interface GrpcContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface GrpcInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: GrpcParams;
  inputs?: {
    name: string;
    datatype: string;
    shape?: (string | number)[];
    parameters?: GrpcParams;
    contents?: GrpcContents | null;
  }[];
  outputs?: { name: string; parameters?: GrpcParams }[];
  raw_input_contents?: Buffer[];
}

export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: GrpcParams;
  outputs: { name: string; datatype: string; shape: (number | string)[]; parameters: GrpcParams; contents?: GrpcContents }[];
  raw_output_contents: Buffer[];
}

/** The InferTensorContents field that carries each datatype (FP16 has none). */
export const CONTENTS_FIELD: Record<DataType, keyof GrpcContents | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

// --- parameters -------------------------------------------------------------

export function paramsFromGrpc(p: GrpcParams | undefined, where: string): Parameters {
  const out: Parameters = {};
  for (const [k, v] of Object.entries(p ?? {})) {
    const choice = v?.parameter_choice;
    let val: ParamValue | undefined;
    switch (choice) {
      case 'bool_param':
        val = Boolean(v.bool_param);
        break;
      case 'string_param':
        val = String(v.string_param ?? '');
        break;
      case 'double_param':
        val = Number(v.double_param);
        break;
      case 'int64_param':
      case 'uint64_param': {
        const s = String(v[choice] ?? '0');
        const n = Number(s);
        val = Number.isSafeInteger(n) ? n : s; // beyond 2^53: kept exact, as a decimal string
        break;
      }
      case 'bytes_param':
        val = (v.bytes_param ?? Buffer.alloc(0)).toString('utf8');
        break;
      default:
        throw badRequest(`${where}: parameter '${k}' has no value`);
    }
    out[k] = val;
  }
  return out;
}

export function paramsToGrpc(p: Parameters | undefined): GrpcParams {
  const out: GrpcParams = {};
  for (const [k, v] of Object.entries(p ?? {})) {
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'string') out[k] = { string_param: v };
    else if (Number.isSafeInteger(v)) out[k] = { int64_param: String(v) };
    else out[k] = { double_param: v };
  }
  return out;
}

// --- ModelInfer -------------------------------------------------------------

export interface GrpcWireRequest {
  wire: WireInferRequest;
  /** Whether the request used raw_input_contents (the response mirrors it). */
  raw: boolean;
}

/** Converts a ModelInferRequest to the transport-neutral form (typed contents or raw bytes). */
export function wireFromGrpc(msg: GrpcInferRequest): GrpcWireRequest {
  const inputs = msg.inputs ?? [];
  const raw = msg.raw_input_contents ?? [];
  const useRaw = raw.length > 0;
  if (useRaw && raw.length !== inputs.length) {
    throw badRequest(`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs`);
  }
  const wireInputs: WireInput[] = inputs.map((inp, i) => {
    const name = inp.name;
    if (typeof name !== 'string' || name === '') throw badRequest(`inputs[${i}] must have a non-empty name`);
    const where = `input '${name}'`;
    const shape = (inp.shape ?? []).map(Number);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw badRequest(`${where} has an invalid shape [${(inp.shape ?? []).join(', ')}]: dimensions must be non-negative integers`);
    }
    const parameters = paramsFromGrpc(inp.parameters, where);
    const set = setContentFields(inp.contents);
    if (useRaw) {
      if (set.length > 0) throw badRequest(`${where} sets contents while the request uses raw_input_contents`);
      return { name, datatype: inp.datatype, shape, parameters, payload: { kind: 'raw', bytes: raw[i]! } };
    }
    const field = CONTENTS_FIELD[inp.datatype as DataType];
    if (inp.datatype === 'FP16') throw badRequest(`${where} is FP16, which has no typed contents field: send it in raw_input_contents`);
    const others = set.filter((f) => f !== field);
    if (field && others.length > 0) {
      throw badRequest(`${where} of datatype ${inp.datatype} must use contents.${field}, not ${others.join(', ')}`);
    }
    const values = field ? (inp.contents?.[field] ?? []) : [];
    return { name, datatype: inp.datatype, shape, parameters, payload: { kind: 'values', values } };
  });
  const outputs = (msg.outputs ?? []).map((o, i) => {
    if (typeof o.name !== 'string' || o.name === '') throw badRequest(`outputs[${i}] must have a non-empty name`);
    return { name: o.name, parameters: paramsFromGrpc(o.parameters, `output '${o.name}'`) };
  });
  const wire: WireInferRequest = { parameters: paramsFromGrpc(msg.parameters, 'request'), inputs: wireInputs, outputs };
  if (msg.id) wire.id = msg.id;
  return { wire, raw: useRaw };
}

function setContentFields(c: GrpcContents | null | undefined): (keyof GrpcContents)[] {
  if (!c) return [];
  return (Object.keys(c) as (keyof GrpcContents)[]).filter((k) => Array.isArray(c[k]) && (c[k] as unknown[]).length > 0);
}

/**
 * Builds a ModelInferResponse. Outputs use raw_output_contents when `raw` is
 * set or when an output has no typed field (FP16); typed contents otherwise.
 */
export function grpcFromResponse(
  req: InferRequest,
  res: { model?: string; version?: string; parameters?: Parameters },
  outputs: Tensor[],
  raw: boolean,
): GrpcInferResponse {
  const useRaw = raw || outputs.some((t) => CONTENTS_FIELD[t.datatype] === undefined);
  const msg: GrpcInferResponse = {
    model_name: res.model ?? req.model,
    model_version: res.version ?? req.version ?? '',
    id: req.id ?? '',
    parameters: paramsToGrpc(res.parameters),
    outputs: [],
    raw_output_contents: [],
  };
  for (const t of outputs) {
    const out: GrpcInferResponse['outputs'][number] = {
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      parameters: paramsToGrpc(t.parameters),
    };
    if (useRaw) msg.raw_output_contents.push(tensorBytes(t.datatype, t.data));
    else out.contents = typedContents(t);
    msg.outputs.push(out);
  }
  return msg;
}

function typedContents(t: Tensor): GrpcContents {
  const field = CONTENTS_FIELD[t.datatype]!;
  switch (t.datatype) {
    case 'BYTES':
      return { bytes_contents: bytesElements(t.data as Uint8Array[] | string[]).map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength)) };
    case 'BOOL':
      return { bool_contents: Array.from(t.data as Uint8Array, (v) => v !== 0) };
    case 'INT64':
    case 'UINT64':
      return { [field]: Array.from(t.data as BigInt64Array | BigUint64Array, (v) => v.toString()) };
    default:
      return { [field]: Array.from(t.data as Float32Array) };
  }
}
