// One version of a Triton model as a tensorshare function config: every
// config.pbtxt field tensorshare honours mapped onto src/serve/functions'
// settings, the ones it cannot honour refused with the reason, and the ones
// that do not change what a request gets back listed as ignored (logged at
// load; docs/triton-repository.md has the table). The model's own I/O (from
// its manifest) completes and checks the declared inputs and outputs, as
// Triton's ONNX Runtime backend does.
import { TensorshareError } from '../../errors.js';
import type { IoSpec } from '../../store/manifest.js';
import { ioMetadata, type Datatype, type TensorMetadata } from '../../tensor/index.js';
import type { TritonModelConfig, TritonTensor } from './model-config.js';

/** The platform and backend names of Triton's ONNX Runtime backend: the only models served. */
export const ONNX_PLATFORM = 'onnxruntime_onnx';
export const ONNX_BACKEND = 'onnxruntime';

/** Triton's ONNX Runtime backend parameter that sets intra-op threads. */
export const INTRA_OP_PARAMETER = 'intra_op_thread_count';

const DATATYPES: Record<string, Datatype> = {
  TYPE_BOOL: 'BOOL',
  TYPE_UINT8: 'UINT8',
  TYPE_UINT16: 'UINT16',
  TYPE_UINT32: 'UINT32',
  TYPE_UINT64: 'UINT64',
  TYPE_INT8: 'INT8',
  TYPE_INT16: 'INT16',
  TYPE_INT32: 'INT32',
  TYPE_INT64: 'INT64',
  TYPE_FP16: 'FP16',
  TYPE_FP32: 'FP32',
  TYPE_FP64: 'FP64',
  TYPE_STRING: 'BYTES',
};

/** A field present in config.pbtxt that does not change what requests get back, and why tensorshare leaves it. */
export interface IgnoredField {
  field: string;
  why: string;
}

export interface MappedVersion {
  /** Raw function config (src/serve/functions/config.ts field names), for validateConfig. */
  config: Record<string, unknown>;
  ignored: IgnoredField[];
  /** Some tensor has a `reshape`: requests run through reshape-handler.ts. */
  reshaped: boolean;
}

/** Why each ignorable field is ignored (the docs' table is written from the same words). */
export const IGNORED_WHY = {
  optimization:
    "ONNX Runtime's graph level, CUDA graphs, execution accelerators (TensorRT, OpenVINO) and pinned buffers: tensorshare loads every model the same way (fast-run variant on CPU, the GPU tier's executor on GPU)",
  model_warmup: 'no warm-up requests are sent: an instance is ready once its session is open',
  response_cache: 'tensorshare has no response cache',
  model_metrics: 'tensorshare exports its own Prometheus metrics (/metrics)',
  metric_tags: 'tensorshare exports its own Prometheus metrics (/metrics)',
  cc_model_filenames: 'per-compute-capability files are for TensorRT plans; ONNX models have one file',
  runtime: 'the backend library is always ONNX Runtime in this process tree',
  model_operations: 'custom operator libraries are not loaded (a model that needs one fails its load check)',
  model_repository_agents: 'repository agents (checksum, encryption) are not run',
  preserve_ordering: 'every response goes to its own request; no response is held back for ordering',
  timeout_action_delay:
    'a request still queued at its timeout is rejected (ERR_TIMEOUT), never kept at a lower priority',
  allow_timeout_override:
    "a request's own timeout parameter always applies (tensorshare lets any request shorten or lengthen its wait)",
  priority_queue_policy: 'one queue policy per model: default_queue_policy applies to every priority level',
  instance_group_details:
    'name, profile, passive, host_policy, rate_limiter and secondary_devices shape Triton-internal placement only',
  extra_gpus: "a function's instances run on one GPU: the first listed",
  tensor_details:
    'format, allow_ragged_batch, is_shape_tensor, is_non_linear_format_io and label_filename are not used (no classification extension)',
  parameters: `only '${INTRA_OP_PARAMETER}' of the ONNX Runtime backend's parameters is read`,
  dynamic_batching_without_batch:
    'max_batch_size is 0, so the model has no batch dimension to batch along (Triton cannot batch it either)',
} as const;

/**
 * Maps one version of a model. `text` is config.pbtxt's text (to point
 * errors at lines), `file` how messages name it, `io` the model's own inputs
 * and outputs. Throws ERR_INVALID_ARGUMENT listing every problem.
 */
export function mapModelVersion(
  cfg: TritonModelConfig,
  o: {
    model: string;
    version: number;
    ref: string;
    file: string;
    text: string;
    io: { inputs: IoSpec[]; outputs: IoSpec[] };
  },
): MappedVersion {
  const errors: string[] = [];
  const ignored: IgnoredField[] = [];
  const at = (needle: RegExp | string) => lineOf(o.text, needle);
  const fail = (why: string, needle?: RegExp | string) => {
    const line = needle === undefined ? undefined : at(needle);
    errors.push(line ? `line ${line}: ${why}` : why);
  };
  const ignore = (field: string, why: string) => ignored.push({ field, why });

  // What is served: ONNX Runtime models, one request in, one response out.
  const platform = cfg.platform ?? '';
  const backend = cfg.backend ?? '';
  if ((platform !== '' && platform !== ONNX_PLATFORM) || (backend !== '' && backend !== ONNX_BACKEND))
    fail(
      `platform '${platform}' / backend '${backend}' is not served: tensorshare serves ONNX Runtime models (platform "${ONNX_PLATFORM}" or backend "${ONNX_BACKEND}")`,
      platform !== '' && platform !== ONNX_PLATFORM ? /^\s*platform\b/ : /^\s*backend\b/,
    );
  if (cfg.name !== undefined && cfg.name !== '' && cfg.name !== o.model)
    fail(`name "${cfg.name}" differs from the model's folder name '${o.model}'`, /^\s*name\b/);
  if (cfg.sequence_batching)
    fail(
      'sequence_batching (stateful models) is not supported: tensorshare batches stateless requests only',
      /sequence_batching/,
    );
  if (cfg.ensemble_scheduling) fail('ensemble_scheduling is not supported', /ensemble_scheduling/);
  if (cfg.batch_input?.length || cfg.batch_output?.length)
    fail(
      'batch_input / batch_output are not supported (the server would have to compute extra model inputs)',
      /batch_(input|output)/,
    );
  if (cfg.model_transaction_policy?.decoupled)
    fail('decoupled models (several responses per request) are not supported', /decoupled/);
  for (const k of [
    'optimization',
    'model_warmup',
    'response_cache',
    'model_metrics',
    'metric_tags',
    'cc_model_filenames',
    'runtime',
    'model_operations',
    'model_repository_agents',
  ] as const) {
    const v = cfg[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== '') ignore(k, IGNORED_WHY[k]);
  }

  const maxBatch = cfg.max_batch_size ?? 0;
  const reshaped = [...(cfg.input ?? []), ...(cfg.output ?? [])].some((t) => t.reshape !== undefined);
  if (maxBatch < 0) fail(`max_batch_size must be >= 0, got ${maxBatch}`, /max_batch_size/);
  const inputs = mapTensors('input', cfg.input, o.io.inputs, maxBatch, fail, ignore);
  const outputs = mapTensors('output', cfg.output, o.io.outputs, maxBatch, fail, ignore);

  const config: Record<string, unknown> = {
    model: o.ref,
    description: `Triton model '${o.model}' version ${o.version}`,
    inputs,
    outputs,
  };

  const db = cfg.dynamic_batching;
  if (db) {
    const levels = db.priority_levels ?? 0;
    if (levels > 0) {
      const d = db.default_priority_level ?? 0;
      if (d < 1 || d > levels)
        fail(`dynamic_batching.default_priority_level must be in [1, ${levels}], got ${d}`, /default_priority_level/);
      // Level 1 is Triton's highest; tensorshare has two classes (requests' integer levels map the same way).
      config.priority = d === 1 ? 'realtime' : 'besteffort';
    }
    const perLevel = Object.keys(db.priority_queue_policy ?? {});
    for (const k of perLevel)
      if (!(Number(k) >= 1 && Number(k) <= levels))
        fail(`dynamic_batching.priority_queue_policy level ${k} must be in [1, ${levels}]`, /priority_queue_policy/);
    if (perLevel.length) ignore('dynamic_batching.priority_queue_policy', IGNORED_WHY.priority_queue_policy);
    if (db.preserve_ordering) ignore('dynamic_batching.preserve_ordering', IGNORED_WHY.preserve_ordering);
    const q = db.default_queue_policy;
    if (q) {
      const us = q.default_timeout_microseconds ?? 0;
      if (us > 0) config.requestTimeoutMs = Math.max(1, Math.ceil(us / 1000));
      if (q.max_queue_size) config.maxQueueLength = q.max_queue_size;
      if (q.timeout_action === 'DELAY')
        ignore('dynamic_batching.default_queue_policy.timeout_action', IGNORED_WHY.timeout_action_delay);
      if (us > 0 && !q.allow_timeout_override)
        ignore('dynamic_batching.default_queue_policy.allow_timeout_override', IGNORED_WHY.allow_timeout_override);
    }
    if (maxBatch > 0) {
      const preferred = db.preferred_batch_size ?? [];
      const over = preferred.filter((n) => n < 1 || n > maxBatch);
      if (over.length)
        fail(
          `dynamic_batching.preferred_batch_size must be in [1, max_batch_size ${maxBatch}], got ${over.join(', ')}`,
          /preferred_batch_size/,
        );
      config.batching = {
        maxBatchSize: maxBatch,
        maxQueueDelayMs: (db.max_queue_delay_microseconds ?? 0) / 1000,
        ...(preferred.length && !over.length ? { preferredBatchSizes: preferred } : {}),
        // The reshape handler keeps the batch on axis 0, so batches pass through it.
        ...(reshaped ? { handlerAcceptsBatches: true } : {}),
      };
    } else ignore('dynamic_batching', IGNORED_WHY.dynamic_batching_without_batch);
  }

  // instance_group: Triton's fixed instance count becomes minInstances = maxInstances.
  const groups = cfg.instance_group?.length ? cfg.instance_group : [{}];
  let instances = 0;
  const devices = new Set<string>();
  for (const [i, g] of groups.entries()) {
    const count = g.count ?? 0;
    if (count < 0) fail(`instance_group[${i}].count must be >= 0, got ${count}`, /count/);
    const kind = g.kind ?? 'KIND_AUTO';
    const gpus = g.gpus ?? [];
    if (kind === 'KIND_GPU') {
      devices.add(`gpu:${gpus[0] ?? 0}`);
      if (gpus.length > 1) ignore(`instance_group[${i}].gpus`, IGNORED_WHY.extra_gpus);
    } else if (kind === 'KIND_CPU') {
      devices.add('cpu');
      if (gpus.length) ignore(`instance_group[${i}].gpus`, 'KIND_CPU instances use no GPU');
    } else devices.add('auto'); // KIND_AUTO / KIND_MODEL: a GPU when there is one, as Triton places them
    // Triton: count 0 means 1; count is per listed GPU.
    instances += Math.max(1, count) * (kind === 'KIND_GPU' ? Math.max(1, gpus.length) : 1);
    const extra = (['name', 'rate_limiter', 'secondary_devices', 'profile', 'passive', 'host_policy'] as const).filter(
      (k) => g[k] !== undefined && !(Array.isArray(g[k]) && (g[k] as unknown[]).length === 0),
    );
    if (extra.length) ignore(`instance_group[${i}].${extra.join(', ')}`, IGNORED_WHY.instance_group_details);
  }
  if (devices.size > 1)
    fail(
      `instance_group mixes devices (${[...devices].join(', ')}): tensorshare runs a model's instances on one device`,
      /instance_group/,
    );
  config.minInstances = instances;
  config.maxInstances = instances;
  config.device = [...devices][0] === 'cpu' ? 'cpu' : [...devices][0];

  for (const [k, v] of Object.entries(cfg.parameters ?? {})) {
    if (k === INTRA_OP_PARAMETER) {
      const n = Number(v.string_value);
      if (!Number.isSafeInteger(n) || n < 0)
        fail(`parameters "${INTRA_OP_PARAMETER}" must be an integer >= 0, got "${v.string_value}"`, INTRA_OP_PARAMETER);
      else if (n > 0) config.intraOpThreads = n; // 0: ONNX Runtime's default; tensorshare's is 1 thread within the core budget
    } else ignore(`parameters "${k}"`, IGNORED_WHY.parameters);
  }

  if (errors.length)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${o.file}: ${errors.join('; ')}`, {
      file: o.file,
      model: o.model,
      version: String(o.version),
      errors,
    });
  return { config, ignored, reshaped };
}

/**
 * Config tensors -> protocol metadata, checked against the model's own I/O
 * (names, datatypes, dims; a leading batch dimension when max_batch_size > 0).
 * None declared: the model's, as Triton's auto-complete does. Outputs may be a
 * subset of the model's; inputs must be all of them.
 */
function mapTensors(
  kind: 'input' | 'output',
  declared: TritonTensor[] | undefined,
  model: IoSpec[],
  maxBatch: number,
  fail: (why: string, needle?: RegExp | string) => void,
  ignore: (field: string, why: string) => void,
): TensorMetadata[] {
  const own = new Map(model.map((io) => [io.name, io]));
  const ownMeta = (io: IoSpec): TensorMetadata | undefined => {
    try {
      return ioMetadata(io);
    } catch (e) {
      fail(`the model's ${kind} '${io.name}': ${(e as Error).message}`);
      return undefined;
    }
  };
  const batchable = (name: string, shape: number[]) => {
    if (maxBatch > 0 && shape.length > 0 && shape[0] !== -1)
      fail(
        `max_batch_size ${maxBatch} needs a dynamic first dimension, but the model's ${kind} '${name}' has shape [${shape.join(', ')}]`,
        /max_batch_size/,
      );
    if (maxBatch > 0 && shape.length === 0)
      fail(
        `max_batch_size ${maxBatch} needs a batch dimension, but the model's ${kind} '${name}' is a scalar`,
        /max_batch_size/,
      );
  };
  if (!declared?.length) {
    return model.flatMap((io) => {
      const m = ownMeta(io);
      if (!m) return [];
      batchable(io.name, m.shape);
      return [m];
    });
  }
  const out: TensorMetadata[] = [];
  for (const [i, t] of declared.entries()) {
    const where = `${kind}[${i}]${t.name ? ` "${t.name}"` : ''}`;
    const needle = t.name ? `"${t.name}"` : new RegExp(`^\\s*${kind}\\b`);
    if (!t.name) {
      fail(`${where}: name is missing`, needle);
      continue;
    }
    const io = own.get(t.name);
    if (!io) {
      fail(
        `${where}: the model has no ${kind} '${t.name}' (its ${kind}s: ${model.map((m) => m.name).join(', ') || 'none'})`,
        needle,
      );
      continue;
    }
    const m = ownMeta(io);
    if (!m) continue;
    const datatype = t.data_type === undefined ? undefined : DATATYPES[t.data_type];
    if (t.data_type === undefined) fail(`${where}: data_type is missing`, needle);
    else if (!datatype) fail(`${where}: data_type ${t.data_type} has no protocol datatype tensorshare serves`, needle);
    else if (datatype !== m.datatype)
      fail(`${where}: data_type ${t.data_type} (${datatype}) but the model's ${kind} is ${m.datatype}`, needle);
    batchable(t.name, m.shape);
    const dims = t.dims ?? (maxBatch > 0 ? m.shape.slice(1) : m.shape);
    const shape = maxBatch > 0 ? [-1, ...dims] : dims;
    // A reshape is what the model sees; only fixed sizes on both sides (the batch dimension aside).
    const rs = t.reshape && (t.reshape.shape ?? []);
    if (rs && (t.dims === undefined || [...dims, ...rs].some((d) => d < 0) || count(dims) !== count(rs)))
      fail(
        `${where}: reshape [${rs.join(', ')}] of dims [${dims.join(', ')}]: only fixed dims and shape with as many elements are supported`,
        needle,
      );
    // The reshape handler takes the model's side from the model's own shape: it must be fixed past the batch.
    if (rs && kind === 'input' && m.shape.slice(maxBatch > 0 ? 1 : 0).some((d) => d < 0))
      fail(
        `${where}: reshape of an input whose model shape [${m.shape.join(', ')}] has free dimensions is not supported`,
        needle,
      );
    const modelSide = rs ? (maxBatch > 0 ? [-1, ...rs] : rs) : shape;
    if (
      modelSide.length !== m.shape.length ||
      modelSide.some((d, k) => d !== -1 && m.shape[k] !== -1 && d !== m.shape[k])
    )
      fail(
        `${where}: ${rs ? `reshape [${rs.join(', ')}]` : `dims [${dims.join(', ')}]`}${maxBatch > 0 ? ' (with the batch dimension first)' : ''} do not fit the model's shape [${m.shape.join(', ')}]`,
        needle,
      );
    const details = (
      ['format', 'allow_ragged_batch', 'is_shape_tensor', 'is_non_linear_format_io', 'label_filename'] as const
    ).filter((k) => t[k] !== undefined && t[k] !== 'FORMAT_NONE');
    if (details.length) ignore(`${where}.${details.join(', ')}`, IGNORED_WHY.tensor_details);
    out.push({
      name: t.name,
      datatype: datatype ?? m.datatype,
      // Where the config leaves a dimension free the model's fixed size stands.
      shape: rs ? shape : shape.map((d, k) => (d === -1 ? (m.shape[k] ?? -1) : d)),
      ...(t.optional ? { optional: true } : {}),
    });
  }
  if (kind === 'input') {
    const named = new Set(declared.map((t) => t.name));
    const left = model.filter((io) => !named.has(io.name)).map((io) => io.name);
    if (left.length)
      fail(
        `the model's input${left.length > 1 ? 's' : ''} ${left.map((n) => `'${n}'`).join(', ')} missing from the config`,
      );
  }
  return out;
}

const count = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);

/** First line (1-based) matching `needle` (a regex, or a plain substring). */
function lineOf(text: string, needle: RegExp | string): number | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
  return i < 0 ? undefined : i + 1;
}
