// A Triton model's `config.pbtxt`: protobuf text format of Triton's
// `inference.ModelConfig` (proto/triton/model_config.proto, vendored
// unchanged), parsed with protobufjs's spec-compliant text-format extension.
// Every error names the file and the line.
import path from 'node:path';
import protobuf from 'protobufjs';
import textformat from 'protobufjs/ext/textformat.js';
import { TensorshareError } from '../../errors.js';
import { protoDir } from '../../paths.js';

export const MODEL_CONFIG_PROTO = path.join(protoDir, 'triton', 'model_config.proto');

/** Triton's data types (`TYPE_*`), as the protocol names them; TYPE_STRING is BYTES. TYPE_BF16 has no protocol datatype here. */
export type TritonDataType = `TYPE_${string}`;

export interface TritonTensor {
  name?: string;
  data_type?: TritonDataType;
  dims?: number[];
  /** Present (possibly `{}`: a scalar) when the config reshapes the tensor. */
  reshape?: { shape?: number[] };
  format?: string;
  is_shape_tensor?: boolean;
  allow_ragged_batch?: boolean;
  optional?: boolean;
  is_non_linear_format_io?: boolean;
  label_filename?: string;
}

export interface TritonQueuePolicy {
  timeout_action?: 'REJECT' | 'DELAY';
  default_timeout_microseconds?: number;
  allow_timeout_override?: boolean;
  max_queue_size?: number;
}

export interface TritonInstanceGroup {
  name?: string;
  kind?: 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';
  count?: number;
  gpus?: number[];
  rate_limiter?: object;
  secondary_devices?: object[];
  profile?: string[];
  passive?: boolean;
  host_policy?: string;
}

/** The fields of `inference.ModelConfig` as plain data (proto field names; int64 as numbers; enums as names). */
export interface TritonModelConfig {
  name?: string;
  platform?: string;
  backend?: string;
  runtime?: string;
  version_policy?: { latest?: { num_versions?: number }; all?: object; specific?: { versions?: number[] } };
  max_batch_size?: number;
  input?: TritonTensor[];
  output?: TritonTensor[];
  batch_input?: object[];
  batch_output?: object[];
  optimization?: object;
  dynamic_batching?: {
    preferred_batch_size?: number[];
    max_queue_delay_microseconds?: number;
    preserve_ordering?: boolean;
    priority_levels?: number;
    default_priority_level?: number;
    default_queue_policy?: TritonQueuePolicy;
    priority_queue_policy?: Record<string, TritonQueuePolicy>;
  };
  sequence_batching?: object;
  ensemble_scheduling?: object;
  instance_group?: TritonInstanceGroup[];
  default_model_filename?: string;
  cc_model_filenames?: Record<string, string>;
  metric_tags?: Record<string, string>;
  parameters?: Record<string, { string_value?: string }>;
  model_warmup?: object[];
  model_operations?: object;
  model_transaction_policy?: { decoupled?: boolean };
  model_repository_agents?: object;
  response_cache?: { enable?: boolean };
  model_metrics?: object;
}

let modelConfigType: protobuf.Type | undefined;

/** `inference.ModelConfig`, loaded once from the vendored .proto (in its own root: the gRPC protocol's package is also `inference`). */
function configType(): protobuf.Type {
  if (!modelConfigType) {
    const root = new protobuf.Root();
    root.loadSync(MODEL_CONFIG_PROTO, { keepCase: true });
    modelConfigType = root.lookupType('inference.ModelConfig');
  }
  return modelConfigType;
}

const LINE = / \(line (\d+)\)$/;

/**
 * Parses config.pbtxt text. `file` is how errors name it
 * ("models/densenet/config.pbtxt"); they read `<file>:<line>: <problem>` and
 * carry details.file and details.line. Throws ERR_INVALID_ARGUMENT.
 */
export function parseModelConfig(text: string, file: string): TritonModelConfig {
  const type = configType();
  try {
    const message = textformat.fromText(type, text);
    return type.toObject(message, { longs: Number, enums: String, arrays: false, objects: false }) as TritonModelConfig;
  } catch (e) {
    const raw = (e as Error).message;
    const m = LINE.exec(raw);
    const line = m ? Number(m[1]) : lineOfValueError(type, text, raw);
    const problem = raw.replace(LINE, '').replace(/^\.inference\./, '');
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${file}${line ? `:${line}` : ''}: not a valid Triton model configuration: ${problem}`,
      { file, ...(line ? { line } : {}), problem },
    );
  }
}

/**
 * The line of an error protobufjs reports without one (a bad enum or number,
 * a field given twice: thrown by value checks, not the tokenizer): the first
 * line whose text, cut after it, fails with the same message. Parsing is
 * sequential, so shorter prefixes end (or fail on the missing rest) before
 * reaching the offending value.
 */
function lineOfValueError(type: protobuf.Type, text: string, message: string): number | undefined {
  const lines = text.split('\n');
  for (let n = 1; n <= lines.length; n++) {
    try {
      textformat.fromText(type, lines.slice(0, n).join('\n'));
    } catch (e) {
      if ((e as Error).message === message) return n;
    }
  }
  return undefined;
}
