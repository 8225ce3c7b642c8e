// gRPC wire format of the Open Inference Protocol: loading the service
// definition (proto/kserve/grpc_predict_v2.proto) and converting its
// ModelInfer messages to and from the transport-neutral forms. Message types
// are generated from the .proto (`npm run gen:kserve-types`, into
// generated/): decoded messages (`__Output`) are plain objects as
// @grpc/proto-loader gives them with LOADER_OPTIONS: snake_case field names,
// int64 as decimal strings, bytes as Buffers, unset fields present with
// defaults, oneofs named by `parameter_choice`.

import path from 'node:path';
import { TensorshareError } from '../../errors.js';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { bytesElements, type Datatype, type Parameters, type ParamValue, type Tensor } from '../../tensor/index.js';
import type { ModelMetadata } from '../../tensor/index.js';
import type { ValidatedInferRequest } from './backend.js';
import { tensorBytes } from './binary.js';
import { scanModelInfer } from './grpc-scan.js';
import { DECODE_LIMITS, type DecodeLimits } from './limits.js';
import { validateInferRequest } from './request.js';
import type { ProtoGrpcType } from './generated/grpc_predict_v2.js';
import type { InferParameter, InferParameter__Output } from './generated/inference/InferParameter.js';
import type { InferTensorContents, InferTensorContents__Output } from './generated/inference/InferTensorContents.js';
import type { ModelInferRequest__Output } from './generated/inference/ModelInferRequest.js';
import type {
  ModelInferResponse,
  _inference_ModelInferResponse_InferOutputTensor as InferOutputTensor,
} from './generated/inference/ModelInferResponse.js';
import type { ModelRepositoryParameter__Output } from './generated/inference/ModelRepositoryParameter.js';
import type { WireInferRequest, WireInput } from './request.js';
import { badRequest } from './status.js';

/** The generated `__Output` types describe messages decoded with these: `gen:kserve-types` passes the same flags (generated-types.test.ts checks). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const PREDICT_PROTO = path.join('kserve', 'grpc_predict_v2.proto');

type InferenceServiceClient = ProtoGrpcType['inference']['GRPCInferenceService'];

/** The GRPCInferenceService definition and client constructor, loaded from `protoDir`. */
export function loadInferenceService(protoDir: string): {
  service: InferenceServiceClient['service'];
  Client: InferenceServiceClient;
} {
  const def = protoLoader.loadSync(path.join(protoDir, PREDICT_PROTO), { ...LOADER_OPTIONS, includeDirs: [protoDir] });
  const pkg = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  const Client = pkg.inference.GRPCInferenceService;
  return { service: Client.service, Client };
}

/** Decodes a ModelInferRequest message (protobufjs, with LOADER_OPTIONS). */
export type ModelInferDecoder = (message: Buffer) => ModelInferRequest__Output;

/**
 * The service definition a server adds: ModelInfer's request deserializer is
 * the identity, so its handler gets the message bytes and checks them
 * (scanModelInfer) before anything is decoded, and may decode them off the
 * event loop. `decodeModelInfer` is the deserializer it replaced.
 */
export function boundedInferenceService(protoDir: string): {
  service: InferenceServiceClient['service'];
  decodeModelInfer: ModelInferDecoder;
} {
  const { service } = loadInferenceService(protoDir);
  const infer = service.ModelInfer;
  return {
    service: { ...service, ModelInfer: { ...infer, requestDeserialize: (b: Buffer) => b as never } },
    decodeModelInfer: (b) => infer.requestDeserialize(b),
  };
}

/** A ModelInfer message, checked against the limits, decoded and validated against `meta`: what the backend receives. */
export function decodeGrpcInfer(
  message: Buffer,
  decode: ModelInferDecoder,
  meta: ModelMetadata,
  limits: DecodeLimits = DECODE_LIMITS,
): { request: ValidatedInferRequest; raw: boolean } {
  const { model, version } = scanModelInfer(message, limits);
  let msg: ModelInferRequest__Output;
  try {
    msg = decode(message);
  } catch (e) {
    throw badRequest(
      `ModelInfer request is not a valid protobuf message: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const { wire, raw } = wireFromGrpc(msg);
  return { request: validateInferRequest(model, version, wire, meta, limits), raw };
}

/** A decoded InferParameter (inference calls) or ModelRepositoryParameter (repository calls): `parameter_choice` names the field set. */
type DecodedParam = Omit<InferParameter__Output, 'parameter_choice'> &
  Omit<ModelRepositoryParameter__Output, 'parameter_choice'> & {
    parameter_choice?:
      | InferParameter__Output['parameter_choice']
      | ModelRepositoryParameter__Output['parameter_choice'];
  };
export type GrpcParams = Record<string, DecodedParam>;

/** A ModelInferResponse as grpcFromResponse builds it: every output listed, raw contents (maybe none) in output order. */
export type GrpcInferResponse = ModelInferResponse & { outputs: InferOutputTensor[]; raw_output_contents: Buffer[] };

/** The InferTensorContents field that carries each datatype (FP16 has none). */
export const CONTENTS_FIELD: Record<Datatype, keyof InferTensorContents__Output | undefined> = {
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

export function paramsToGrpc(p: Parameters | undefined): Record<string, InferParameter> {
  const out: Record<string, InferParameter> = {};
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
export function wireFromGrpc(msg: ModelInferRequest__Output): GrpcWireRequest {
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
      throw badRequest(
        `${where} has an invalid shape [${(inp.shape ?? []).join(', ')}]: dimensions must be non-negative integers`,
      );
    }
    const parameters = paramsFromGrpc(inp.parameters, where);
    const set = setContentFields(inp.contents);
    if (useRaw) {
      if (set.length > 0) throw badRequest(`${where} sets contents while the request uses raw_input_contents`);
      return { name, datatype: inp.datatype, shape, parameters, payload: { kind: 'raw', bytes: raw[i]! } };
    }
    const field = CONTENTS_FIELD[inp.datatype as Datatype];
    if (inp.datatype === 'FP16')
      throw badRequest(`${where} is FP16, which has no typed contents field: send it in raw_input_contents`);
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

function setContentFields(c: InferTensorContents__Output | null | undefined): (keyof InferTensorContents__Output)[] {
  if (!c) return [];
  return (Object.keys(c) as (keyof InferTensorContents__Output)[]).filter(
    (k) => Array.isArray(c[k]) && (c[k] as unknown[]).length > 0,
  );
}

/**
 * Builds a ModelInferResponse. Outputs use raw_output_contents when `raw` is
 * set or when an output has no typed field (FP16); typed contents otherwise.
 */
export function grpcFromResponse(
  req: ValidatedInferRequest,
  res: { model?: string; version?: string; parameters?: Parameters },
  outputs: Tensor[],
  raw: boolean,
  maxTypedBytes: number = DECODE_LIMITS.maxJsonResponseBytes,
): GrpcInferResponse {
  const useRaw = raw || outputs.some((t) => CONTENTS_FIELD[t.datatype] === undefined);
  // Typed contents are built as JS arrays before protobuf encodes them, on the event loop: bound them like JSON.
  if (!useRaw) {
    const least = outputs.reduce(
      (n, t) =>
        n + t.data.length * (t.datatype === 'FP32' ? 4 : t.datatype === 'FP64' ? 8 : t.datatype === 'BYTES' ? 2 : 1),
      0,
    );
    if (least > maxTypedBytes) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `the response's typed contents (at least ${least} bytes) would be larger than the ${maxTypedBytes}-byte limit; send the request with raw_input_contents to get raw_output_contents`,
        { responseTooLarge: true, limit: maxTypedBytes },
      );
    }
  }
  const msg: GrpcInferResponse = {
    model_name: res.model ?? req.model,
    model_version: res.version ?? req.version ?? '',
    id: req.id ?? '',
    parameters: paramsToGrpc(res.parameters),
    outputs: [],
    raw_output_contents: [],
  };
  for (const t of outputs) {
    const out: InferOutputTensor = {
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

function typedContents(t: Tensor): InferTensorContents {
  const field = CONTENTS_FIELD[t.datatype]!;
  switch (t.datatype) {
    case 'BYTES':
      return {
        bytes_contents: bytesElements(t.data as Uint8Array[] | string[]).map((e) =>
          Buffer.from(e.buffer, e.byteOffset, e.byteLength),
        ),
      };
    case 'BOOL':
      return { bool_contents: Array.from(t.data as Uint8Array, (v) => v !== 0) };
    case 'INT64':
    case 'UINT64':
      return { [field]: Array.from(t.data as BigInt64Array | BigUint64Array, (v) => v.toString()) };
    default:
      return { [field]: Array.from(t.data as Float32Array) };
  }
}
