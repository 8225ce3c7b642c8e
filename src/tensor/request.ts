// Inference requests, responses and model signatures, protocol-neutral but
// shaped like KServe v2 so the gateway, the scheduler, the runtime and the
// instances pass them through as they are. Each protocol converts only at its
// edge (serve/protocol: HTTP JSON, binary extension, gRPC).
import type { Datatype } from './datatypes.js';
import { datatypeOf } from './ort.js';
import type { Dim, Parameters, Tensor } from './tensor.js';

export interface RequestedOutput {
  name: string;
  /** Output parameters (the transport-only `binary_data` already removed by the protocol). */
  parameters?: Parameters;
}

export interface InferRequest {
  /** The model (function) the client named; the gateway sets it, in-process callers name the function beside the request. */
  model?: string;
  /** The version the client asked for, if any. */
  version?: string;
  id?: string;
  parameters?: Parameters;
  inputs: Tensor[];
  /** Outputs to return: all when absent or empty. */
  outputs?: RequestedOutput[];
}

export interface InferTiming {
  /** Waiting in the function's queue, cold start included. */
  queueMs: number;
  /** Time inside the instance (handler + model runs); the runtime always reports it, other backends may not. */
  runMs?: number;
  /** From sending the request to an instance process to having its answer back (runMs included). */
  instanceMs?: number;
  /** Set when this request waited for an instance to start. */
  coldStartMs?: number;
  /** Part of instanceMs the instance spent writing its outputs' JSON text (part of the response's encoding). */
  formatMs?: number;
  /** Where the models ran: the GPU executor, or CPU sessions in the instance (a `device: auto` function's fallback). */
  device?: 'cpu' | 'gpu';
}

export interface InferResponse {
  /** Defaults to the request's model / version. */
  model?: string;
  version?: string;
  id?: string;
  parameters?: Parameters;
  /** Must contain every requested output; extra outputs are dropped. */
  outputs: Tensor[];
  /** Timing the gateway records in its metrics. */
  timing?: InferTiming;
}

export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  /** -1 marks a dynamic dimension. */
  shape: number[];
  /** Inputs only: may be left out of a request. */
  optional?: boolean;
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  /** 'onnxruntime_onnx' for a raw model, 'tensorshare_handler' when a handler shapes the I/O. */
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** A model declared dimension as metadata: symbolic or unknown dimensions become -1. */
export const dimOf = (d: Dim | undefined): number => (typeof d === 'number' && d >= 0 ? d : -1);

/** A model input/output (ORT dtype name, declared dims) as protocol metadata; an unknown rank becomes [-1]. */
export function ioMetadata(io: { name: string; dtype: string; shape: readonly Dim[] | null }): TensorMetadata {
  return { name: io.name, datatype: datatypeOf(io.dtype), shape: io.shape ? io.shape.map(dimOf) : [-1] };
}
