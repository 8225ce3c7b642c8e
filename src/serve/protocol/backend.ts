// The one boundary between the gateway and the rest of the serving layer.
// The gateway decodes and validates requests against `modelMetadata` before
// calling `infer`, so a backend only ever sees well-formed tensors: every
// required input present, datatypes equal to the metadata's, shapes matching
// (-1 dimensions free), data of exactly the declared element count, and
// requested outputs that exist. Backends report failures by throwing
// `TensorshareError`s; the protocol maps their codes to HTTP/gRPC statuses
// (see status.ts).

import type { InferRequest, InferResponse, ModelMetadata, Parameters, RequestedOutput } from '../../tensor/index.js';

export type MaybePromise<T> = T | Promise<T>;

export type ModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

export interface ModelIndexEntry {
  name: string;
  version?: string;
  state: ModelState;
  reason?: string;
}

/**
 * The request a backend receives: validated against the model's metadata
 * (validateInferRequest), with the model named, parameters present (minus the
 * transport-only `binary_data_output`) and the outputs never empty (none
 * requested: every output of the model, in metadata order).
 */
export type ValidatedInferRequest = InferRequest & {
  model: string;
  parameters: Parameters;
  outputs: (RequestedOutput & { parameters: Parameters })[];
};

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
  infer(req: ValidatedInferRequest, ctx: InferContext): Promise<InferResponse>;
  /** Throw ERR_MODEL_NOT_FOUND for unknown names. */
  load(name: string, parameters?: Parameters): Promise<void>;
  unload(name: string, parameters?: Parameters): Promise<void>;
}
