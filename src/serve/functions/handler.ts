// The contract of a function's handler module (`functions/<name>/handler.js`).
// It runs inside the function's instance processes, never in the runtime's
// (gateway's) process. Types only: handlers are plain ES modules.
//
//   export const metadata = { inputs: [...], outputs: [...] };   // or (info) => ({ inputs, outputs })
//   export async function setup(ctx) {}                          // optional, once per instance
//   export async function handle(request, ctx) { return { outputs: [...] }; }
//   export async function teardown(ctx) {}                       // optional, before the instance exits
import type { IoSpec, Manifest } from '../../store/manifest.js';
import type { FunctionConfig } from './config.js';
import type { InferRequest, ModelMetadata, Tensor, TensorMetadata } from '../../tensor/index.js';

/** A feed: `{dtype: 'float32', shape, data}` (onnxruntime names), `{datatype: 'FP32', shape, data}` (protocol names), or an ORT Tensor. */
export interface Feed {
  dtype?: string;
  datatype?: string;
  shape?: readonly number[];
  dims?: readonly number[];
  data: unknown;
}

/** A model output as onnxruntime gives it (`type` is the ORT dtype name). */
export interface ModelOutput {
  type: string;
  dims: readonly number[];
  data: unknown;
}

export type RunModel = (
  feeds: Record<string, Feed>,
  outputNames?: readonly string[],
) => Promise<Record<string, ModelOutput>>;

export interface ModelHandle {
  ref: string;
  manifest: Manifest;
  inputs: IoSpec[];
  outputs: IoSpec[];
  run: RunModel;
}

export interface HandlerContext {
  function: string;
  version: string;
  /** The function's folder (read helper files relative to it). */
  dir: string;
  config: FunctionConfig;
  metadata: ModelMetadata;
  models: Record<string, ModelHandle>;
  /** Runs the function's model; with several models, name the alias. */
  run(feeds: Record<string, Feed>, model?: string): Promise<Record<string, ModelOutput>>;
  /** Per-instance scratch space for setup() to leave things in (dictionaries, tables). */
  state: Record<string, unknown>;
  /** Aborted when the request times out or its caller goes away (inside handle() only). */
  signal?: AbortSignal;
}

export interface MetadataInfo {
  function: string;
  config: FunctionConfig;
  models: Record<string, { ref: string; inputs: IoSpec[]; outputs: IoSpec[] }>;
}

/** What handle() may return: a response, a list of tensors, or a record name -> tensor-like. */
export type HandlerResult =
  | { outputs: Tensor[]; parameters?: Record<string, string | number | boolean> }
  | Tensor[]
  | Record<string, Omit<Tensor, 'name'> | ModelOutput>;

export interface HandlerModule {
  metadata?:
    | { inputs: TensorMetadata[]; outputs: TensorMetadata[] }
    | ((
        info: MetadataInfo,
      ) =>
        | { inputs: TensorMetadata[]; outputs: TensorMetadata[] }
        | Promise<{ inputs: TensorMetadata[]; outputs: TensorMetadata[] }>);
  setup?(ctx: HandlerContext): unknown;
  handle(request: InferRequest, ctx: HandlerContext): Promise<HandlerResult> | HandlerResult;
  teardown?(ctx: HandlerContext): unknown;
}
