// Messages between the runtime and an instance process over the IPC channel
// (child_process.fork with serialization 'advanced', so typed arrays travel
// as typed arrays). Plain data only.
import type { FunctionConfig, FunctionMode, PriorityClass } from '../functions/config.js';
import type { InferRequest, ModelMetadata, TensorMetadata } from '../../tensor/index.js';
import type { IoSpec } from '../../store/manifest.js';
import type { Slot, SlotBytes, SlotTensor } from '../../shm/index.js';
import type { JsonTextAsk } from '../protocol/json-text.js';
import type { OpenerSpec } from './opener.js';
import type { WireError } from '../../errors.js';

export type { WireError };

export interface ModelToOpen {
  alias: string;
  ref: string;
  /** 'auto': fast-open, then fast-run behind the same session (the open function must support it: openSession does). */
  mode: FunctionMode;
}

export interface InitMessage {
  type: 'init';
  function: string;
  version: string;
  dir: string;
  handlerFile?: string;
  models: ModelToOpen[];
  repository: string;
  store: string;
  opener: OpenerSpec;
  intraOpThreads: number;
  config: FunctionConfig;
  metadata: ModelMetadata;
  /** Fds 4 (requests' tensors, read) and 5 (results' tensors, written) are shared-memory segments. */
  shm: boolean;
}

/** Asks a short-lived process for a handler's `metadata`: the handler's code never runs in the runtime's process. */
export interface DescribeMessage {
  type: 'describe';
  function: string;
  handlerFile: string;
  models: Record<string, { ref: string; inputs: IoSpec[]; outputs: IoSpec[] }>;
  config: FunctionConfig;
}

export interface InferMessage {
  type: 'infer';
  id: number;
  /** Large numeric inputs are slots of the request segment (free again once this request is answered). */
  request: Omit<InferRequest, 'inputs'> & { inputs: SlotTensor[]; jsonText?: JsonTextAsk };
  /** 'cpu': run on the instance's CPU sessions although its models are on a GPU (the GPU -> CPU fallback). */
  device?: 'cpu';
  /** The request's class (its `priority` parameter, or the function's): on an executor its runs take that place. */
  priority?: PriorityClass;
}

/** A pre-started process (prestart.ts): load Node's ONNX Runtime binding and the open function now, the model comes later with 'init'. */
export interface PreloadMessage {
  type: 'preload';
  opener: OpenerSpec;
  /** Load the device client too (client/device-preload.ts): the daemon beside the store has device executors. */
  device?: boolean;
}

export type ToInstance =
  | InitMessage
  | PreloadMessage
  | DescribeMessage
  | InferMessage
  | { type: 'cancel'; id: number }
  /** The runtime has read these slots of the result segment. */
  | { type: 'release'; slots: Slot[] }
  | { type: 'exit' };

export interface ReadyMessage {
  type: 'ready';
  /** Opening every model (ms). */
  openMs: number;
  /** Importing the handler and running its setup (ms). */
  handlerMs: number;
  /** Child process uptime at ready (ms, from its own start). */
  uptimeMs: number;
  models: { alias: string; ref: string; mode?: FunctionMode; openMs: number }[];
}

export type FromInstance =
  | ReadyMessage
  | {
      type: 'result';
      id: number;
      /**
       * Large numeric outputs are slots of the result segment (the runtime releases them), and so is
       * the JSON text of outputs the request's jsonText asked for (one per request of the batch).
       */
      outputs: (SlotTensor & { jsonText?: SlotBytes[] })[];
      parameters?: Record<string, string | number | boolean>;
      runMs: number;
      /** Writing the outputs' JSON text (ms, after runMs). */
      formatMs?: number;
      /** Where the models ran. */
      device: 'cpu' | 'gpu';
    }
  | { type: 'error'; id: number; error: WireError; runMs: number }
  | { type: 'fatal'; error: WireError }
  /** The answer to 'preload': the process is ready to be handed a function. */
  | {
      type: 'preloaded';
      ms: number;
      /** The opener's warm-up (0: it names none). */
      warmUpMs: number;
      /** The handler kit's warm-up (handlers/warm-up.ts). */
      handlersWarmUpMs: number;
    }
  | { type: 'described'; metadata?: { inputs: TensorMetadata[]; outputs: TensorMetadata[] }; hasHandle: boolean };
