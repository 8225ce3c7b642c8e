// The one boundary between the gateway and the rest of the serving layer.
// The gateway decodes and validates requests against `modelMetadata` before
// calling `infer`, so a backend only ever sees well-formed tensors: every
// required input present, datatypes equal to the metadata's, shapes matching
// (-1 dimensions free), data of exactly the declared element count, and
// requested outputs that exist. Backends report failures by throwing
// `TensorshareError`s; the protocol maps their codes to HTTP/gRPC statuses
// (see status.ts).

import type { DataType, TensorData } from './datatypes.js';

export type MaybePromise<T> = T | Promise<T>;

export type ParamValue = string | number | boolean;
/** Request/tensor parameters as the protocol carries them (passed through untouched). */
export type Parameters = Record<string, ParamValue>;

export type ModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

export interface ModelIndexEntry {
  name: string;
  version?: string;
  state: ModelState;
  reason?: string;
}

export interface TensorMetadata {
  name: string;
  datatype: DataType;
  /** -1 marks a dynamic dimension. */
  shape: number[];
  /** Inputs only: may be left out of a request. */
  optional?: boolean;
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  /** e.g. "onnxruntime_onnx". */
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface Tensor {
  name: string;
  datatype: DataType;
  shape: number[];
  /** Flat, row-major; storage per datatype as in datatypes.ts. */
  data: TensorData;
  parameters?: Parameters;
}

export interface RequestedOutput {
  name: string;
  /** Output parameters minus the transport-only `binary_data`. */
  parameters: Parameters;
}

export interface InferRequest {
  model: string;
  /** The version the client asked for, if any. */
  version?: string;
  id?: string;
  /** Request parameters minus the transport-only `binary_data_output`. */
  parameters: Parameters;
  inputs: Tensor[];
  /** Never empty: when the client named none, every output of the model, in metadata order. */
  outputs: RequestedOutput[];
}

export interface InferResponse {
  /** Defaults to the request's model / version. */
  model?: string;
  version?: string;
  parameters?: Parameters;
  /** Must contain every requested output; extra outputs are dropped. */
  outputs: Tensor[];
  /** Optional timing the gateway records in its metrics. */
  timing?: { queueMs?: number };
}

export interface InferContext {
  /** Aborted when the client goes away (HTTP connection closed, gRPC call cancelled). */
  signal: AbortSignal;
  /** `performance.now()` in the gateway process when the request arrived. */
  receivedAt: number;
  protocol: 'http' | 'grpc';
}

export interface InferenceBackend {
  /** Server readiness (`/v2/health/ready`). Liveness is the gateway answering at all. */
  serverReady(): MaybePromise<boolean>;
  /** Model repository index. */
  listModels(): MaybePromise<ModelIndexEntry[]>;
  /** undefined: no such model, or no such version of it. */
  modelMetadata(name: string, version?: string): MaybePromise<ModelMetadata | undefined>;
  modelReady(name: string, version?: string): MaybePromise<boolean>;
  infer(req: InferRequest, ctx: InferContext): Promise<InferResponse>;
  /** Throw ERR_MODEL_NOT_FOUND for unknown names. */
  load(name: string, parameters?: Parameters): Promise<void>;
  unload(name: string, parameters?: Parameters): Promise<void>;
}
