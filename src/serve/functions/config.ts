// A function's config file (`functions/<name>/config.json` or `config.yaml`):
// which model(s) it uses, its handler, and its serving settings. Parsing
// checks every field and reports each problem with the file and the field,
// so a typo never silently falls back to a default.
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TensorshareError } from '../../errors.js';
import { isValidName } from '../../store/layout.js';
import { DEVICE_POLICIES, type DevicePolicy } from '../../sched/device-policy.js';
import type { OpenMode } from '../../store/manifest.js';
import { DATATYPES, isDatatype, type TensorMetadata } from '../../tensor/index.js';

export type PriorityClass = 'realtime' | 'besteffort';

/** How a function's instances open its models: a store mode, or 'auto' (fast-open, then fast-run). */
export type FunctionMode = OpenMode | 'auto';

/** A model a function uses: one in the store (`ref`), or a file imported on deploy. */
export type ModelBinding = { ref: string } | { modelFile: string; name: string };

/**
 * Dynamic batching of a function's requests (src/sched): requests are
 * concatenated along axis 0 and run as one batch. Only functions whose I/O
 * has a dynamic first dimension are batched; a function with a handler only
 * when `handlerAcceptsBatches` says its handler takes such batches.
 */
export interface BatchingOptions {
  /** Largest batch, in rows on axis 0 (default BATCHING_DEFAULTS.maxBatchSize). */
  maxBatchSize?: number;
  /** How long the oldest queued request may wait for a fuller batch, ms (default 0: batch only what is already queued). */
  maxQueueDelayMs?: number;
  /** Batch sizes to dispatch at once when reachable. Each <= maxBatchSize. */
  preferredBatchSizes?: number[];
  /** Latency objective of one batch's run, ms: turns on the adaptive (AIMD) batch cap. */
  sloMs?: number;
  /** AIMD additive increase per batch within the SLO, rows (default 1). Needs sloMs. */
  aimdStep?: number;
  /** AIMD fraction the cap shrinks by after a batch over the SLO, in (0, 1) (default 0.1). Needs sloMs. */
  aimdBackoff?: number;
  /** The handler takes requests concatenated along axis 0 and returns outputs with the batch on axis 0. */
  handlerAcceptsBatches?: boolean;
}

export const BATCHING_DEFAULTS = { maxBatchSize: 8, maxQueueDelayMs: 0 } as const;

const BATCHING_FIELDS = [
  'maxBatchSize',
  'maxQueueDelayMs',
  'preferredBatchSizes',
  'sloMs',
  'aimdStep',
  'aimdBackoff',
  'handlerAcceptsBatches',
] as const;

export interface FunctionConfig {
  /** Alias -> model. A single `model`/`modelFile` gets the alias 'model'. Empty only for a handler-only function. */
  models: Record<string, ModelBinding>;
  /** Handler module, relative to the function folder (default: handler.js when it exists). */
  handler?: string;
  minInstances: number;
  maxInstances: number;
  /** Concurrent requests per instance the autoscaler aims for. */
  targetConcurrency: number;
  /** Hard limit of concurrent requests routed to one instance (default: targetConcurrency). */
  maxConcurrency: number;
  keepAliveSeconds: number;
  stableWindowSeconds: number;
  panicWindowSeconds: number;
  /** Panic when panic-window concurrency >= panicThreshold x current capacity. */
  panicThreshold: number;
  intraOpThreads: number;
  tenant: string;
  priority: PriorityClass;
  requestTimeoutMs: number;
  maxQueueLength: number;
  /** Recycle an instance whose private memory (Pss_Anon) passes this. */
  memoryLimitMb?: number;
  /**
   * Default: the model's own default mode. 'auto': instances open each model in fast-open and switch to
   * fast-run behind the same session after its first run (src/client/auto-session.ts): the first answer
   * comes without fast-run's creation (ORT's PrePack at every creation); the store then holds both modes' files.
   */
  mode?: FunctionMode;
  /**
   * Where the models run: 'cpu' (default; sessions in the instance over the
   * shared store), 'cpu-executor' (the daemon's CPU executor: one session per
   * model for every instance, created once, so an instance opens it in one
   * round trip), 'gpu' / 'gpu:N' (the daemon's executor of that GPU, one
   * resident copy for every instance), 'auto' (a GPU when the daemon has one,
   * else CPU).
   */
  device: DeviceChoice;
  /**
   * On a device: how the executor orders this function's runs among the model's runs under the same policy
   * (src/sched/lanes-scheduler.ts). Default: the executor's own (the daemon's `gpuPolicy`).
   */
  gpuPolicy?: DevicePolicy;
  batching?: BatchingOptions;
  /** Declared I/O (otherwise: the handler's `metadata`, or the model's own I/O). */
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
  description?: string;
}

/** `{ gpu: undefined }` ('gpu'): a device the daemon places the model on; `gpu:N` pins device N. */
export type DeviceChoice = 'cpu' | 'cpu-executor' | 'auto' | { gpu: number | undefined };

export const FUNCTION_DEFAULTS = {
  minInstances: 0,
  maxInstances: 8,
  targetConcurrency: 1,
  keepAliveSeconds: 60,
  stableWindowSeconds: 60,
  panicWindowSeconds: 6,
  panicThreshold: 2,
  intraOpThreads: 1,
  tenant: 'default',
  priority: 'realtime',
  requestTimeoutMs: 30_000,
  maxQueueLength: 100,
  device: 'cpu',
} as const satisfies Partial<FunctionConfig>;

export const CONFIG_FILES = ['config.json', 'config.yaml', 'config.yml'] as const;

const FIELDS = new Set([
  'model',
  'modelFile',
  'modelName',
  'models',
  'handler',
  'minInstances',
  'maxInstances',
  'targetConcurrency',
  'maxConcurrency',
  'keepAliveSeconds',
  'stableWindowSeconds',
  'panicWindowSeconds',
  'panicThreshold',
  'intraOpThreads',
  'tenant',
  'priority',
  'requestTimeoutMs',
  'maxQueueLength',
  'memoryLimitMb',
  'mode',
  'device',
  'gpuPolicy',
  'batching',
  'inputs',
  'outputs',
  'description',
]);

const show = (v: unknown): string => (v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v)));

/** Parses config text (JSON or YAML by the file's extension) into a plain object. */
export function parseConfigText(text: string, file: string): unknown {
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`,
      { file },
    );
  }
}

/**
 * Validates a parsed config and fills in defaults. `file` is how errors name
 * the file (e.g. "functions/ocr/config.json"); `name` is the function's name.
 * Throws ERR_INVALID_ARGUMENT listing every problem, each with its field.
 */
export function validateConfig(raw: unknown, file: string, name: string): FunctionConfig {
  const errors: string[] = [];
  const fail = (field: string, why: string, got: unknown) => errors.push(`${field} ${why}, got ${show(got)}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${file}: must be an object with the function's settings, got ${show(raw)}`,
      { file },
    );
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FIELDS.has(k)) {
      const near = [...FIELDS].find((f) => f.toLowerCase() === k.toLowerCase() || f.startsWith(k) || k.startsWith(f));
      errors.push(`unknown field '${k}'${near ? ` (did you mean '${near}'?)` : ''}`);
    }
  }

  const int = (field: string, def: number | undefined, min: number): number | undefined => {
    const v = o[field];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      fail(field, `must be an integer >= ${min}`, v);
      return def;
    }
    return v;
  };
  const num = (field: string, def: number, min: number, exclusive: boolean): number => {
    const v = o[field];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || (exclusive ? v <= min : v < min)) {
      fail(field, `must be a number ${exclusive ? '>' : '>='} ${min}`, v);
      return def;
    }
    return v;
  };
  const str = (field: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0) {
      fail(field, 'must be a non-empty string', v);
      return undefined;
    }
    return v;
  };

  // Models: exactly one of model / modelFile / models, or none with a handler.
  const models: Record<string, ModelBinding> = {};
  const given = ['model', 'modelFile', 'models'].filter((k) => o[k] !== undefined);
  if (given.length > 1) errors.push(`give only one of ${given.join(', ')}`);
  const binding = (field: string, v: unknown, fallbackName: string): ModelBinding | undefined => {
    if (typeof v === 'string') {
      if (!checkRef(v)) {
        fail(field, "must be a model reference 'name' or 'name:version'", v);
        return undefined;
      }
      return { ref: v };
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const b = v as Record<string, unknown>;
      const extra = Object.keys(b).filter((k) => !['model', 'modelFile', 'name'].includes(k));
      if (extra.length)
        errors.push(`${field}: unknown field '${extra[0]}' (use model, or modelFile with an optional name)`);
      if ((b.model === undefined) === (b.modelFile === undefined)) {
        fail(field, 'must name exactly one of model or modelFile', v);
        return undefined;
      }
      if (b.model !== undefined) return binding(`${field}.model`, b.model, fallbackName);
      const file = str(`${field}.modelFile`, b.modelFile);
      const n = b.name === undefined ? fallbackName : str(`${field}.name`, b.name);
      if (n !== undefined && !isValidName(n)) fail(`${field}.name`, 'must be a valid model name', n);
      return file && n ? { modelFile: file, name: n } : undefined;
    }
    fail(field, 'must be a model reference string or {model} / {modelFile, name}', v);
    return undefined;
  };
  if (o.model !== undefined) {
    const b = binding('model', o.model, name);
    if (b) models.model = b;
  } else if (o.modelFile !== undefined) {
    const file = str('modelFile', o.modelFile);
    const n = o.modelName === undefined ? name : str('modelName', o.modelName);
    if (n !== undefined && !isValidName(n)) fail('modelName', 'must be a valid model name', n);
    if (file && n) models.model = { modelFile: file, name: n };
  } else if (o.models !== undefined) {
    if (
      typeof o.models !== 'object' ||
      o.models === null ||
      Array.isArray(o.models) ||
      Object.keys(o.models).length === 0
    ) {
      fail('models', 'must be an object mapping aliases to models, e.g. {"det": "ppocr-det"}', o.models);
    } else {
      for (const [alias, v] of Object.entries(o.models as Record<string, unknown>)) {
        if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(alias)) {
          fail(`models.${alias}`, 'needs an alias of letters, digits, _ and -', alias);
          continue;
        }
        const b = binding(`models.${alias}`, v, `${name}-${alias}`);
        if (b) models[alias] = b;
      }
    }
  }
  if (o.modelName !== undefined && o.modelFile === undefined)
    errors.push('modelName is only meaningful with modelFile');

  const handler = str('handler', o.handler);
  if (handler !== undefined && (path.isAbsolute(handler) || handler.split(/[\\/]/).includes('..')))
    fail('handler', 'must be a path inside the function folder', handler);

  const minInstances = int('minInstances', FUNCTION_DEFAULTS.minInstances, 0)!;
  const maxInstances = int('maxInstances', FUNCTION_DEFAULTS.maxInstances, 1)!;
  if (minInstances > maxInstances && errors.length === 0)
    errors.push(`minInstances (${minInstances}) must not exceed maxInstances (${maxInstances})`);
  const targetConcurrency = int('targetConcurrency', FUNCTION_DEFAULTS.targetConcurrency, 1)!;
  const maxConcurrency = int('maxConcurrency', targetConcurrency, 1)!;
  if (maxConcurrency < targetConcurrency && errors.length === 0)
    errors.push(`maxConcurrency (${maxConcurrency}) must be >= targetConcurrency (${targetConcurrency})`);
  const stableWindowSeconds = num('stableWindowSeconds', FUNCTION_DEFAULTS.stableWindowSeconds, 0, true);
  const panicWindowSeconds = num('panicWindowSeconds', FUNCTION_DEFAULTS.panicWindowSeconds, 0, true);
  if (panicWindowSeconds > stableWindowSeconds && errors.length === 0)
    errors.push(
      `panicWindowSeconds (${panicWindowSeconds}) must not exceed stableWindowSeconds (${stableWindowSeconds})`,
    );

  const tenant = str('tenant', o.tenant) ?? FUNCTION_DEFAULTS.tenant;
  let priority: PriorityClass = FUNCTION_DEFAULTS.priority;
  if (o.priority !== undefined) {
    if (o.priority === 'realtime' || o.priority === 'besteffort') priority = o.priority;
    else fail('priority', "must be 'realtime' or 'besteffort'", o.priority);
  }
  let mode: FunctionMode | undefined;
  if (o.mode !== undefined) {
    if (o.mode === 'fast-open' || o.mode === 'fast-run' || o.mode === 'auto') mode = o.mode;
    else fail('mode', "must be 'fast-open', 'fast-run' or 'auto'", o.mode);
  }

  let device: DeviceChoice = FUNCTION_DEFAULTS.device;
  if (o.device !== undefined) {
    const g = typeof o.device === 'string' ? /^gpu(?::(\d+))?$/.exec(o.device) : null;
    if (o.device === 'cpu' || o.device === 'cpu-executor' || o.device === 'auto') device = o.device;
    else if (g) device = { gpu: g[1] === undefined ? undefined : Number(g[1]) };
    else fail('device', "must be 'cpu', 'cpu-executor', 'gpu', 'gpu:<index>' or 'auto'", o.device);
  }

  let gpuPolicy: DevicePolicy | undefined;
  if (o.gpuPolicy !== undefined) {
    if ((DEVICE_POLICIES as readonly unknown[]).includes(o.gpuPolicy)) gpuPolicy = o.gpuPolicy as DevicePolicy;
    else fail('gpuPolicy', `must be one of ${DEVICE_POLICIES.map((p) => `'${p}'`).join(', ')}`, o.gpuPolicy);
    if (device === 'cpu' && gpuPolicy !== undefined)
      errors.push(
        `gpuPolicy is only meaningful with device 'gpu', 'gpu:<index>', 'auto' or 'cpu-executor' (device is 'cpu')`,
      );
  }

  const config: FunctionConfig = {
    models,
    handler,
    minInstances,
    maxInstances,
    targetConcurrency,
    maxConcurrency,
    keepAliveSeconds: num('keepAliveSeconds', FUNCTION_DEFAULTS.keepAliveSeconds, 0, false),
    stableWindowSeconds,
    panicWindowSeconds,
    panicThreshold: num('panicThreshold', FUNCTION_DEFAULTS.panicThreshold, 1, false),
    intraOpThreads: int('intraOpThreads', FUNCTION_DEFAULTS.intraOpThreads, 1)!,
    tenant,
    priority,
    requestTimeoutMs: int('requestTimeoutMs', FUNCTION_DEFAULTS.requestTimeoutMs, 1)!,
    maxQueueLength: int('maxQueueLength', FUNCTION_DEFAULTS.maxQueueLength, 0)!,
    memoryLimitMb: int('memoryLimitMb', undefined, 1),
    mode,
    device,
    ...(gpuPolicy ? { gpuPolicy } : {}),
    batching: validateBatching(o.batching, errors),
    inputs: validateTensors('inputs', o.inputs, errors),
    outputs: validateTensors('outputs', o.outputs, errors),
    description: str('description', o.description),
  };
  if ((o.inputs === undefined) !== (o.outputs === undefined)) {
    errors.push('inputs and outputs must be given together');
  }
  if (errors.length) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: ${errors.join('; ')}`, {
      file,
      function: name,
      errors,
    });
  }
  return config;
}

function checkRef(ref: string): boolean {
  const i = ref.lastIndexOf(':');
  const n = i < 0 ? ref : ref.slice(0, i);
  return isValidName(n) && (i < 0 || /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref.slice(i + 1)));
}

function validateBatching(v: unknown, errors: string[]): BatchingOptions | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    errors.push(`batching must be an object (${BATCHING_FIELDS.join(', ')}), got ${show(v)}`);
    return undefined;
  }
  const b = v as Record<string, unknown>;
  const before = errors.length;
  for (const k of Object.keys(b)) {
    if ((BATCHING_FIELDS as readonly string[]).includes(k)) continue;
    const near = BATCHING_FIELDS.find((f) => f.toLowerCase() === k.toLowerCase() || f.startsWith(k) || k.startsWith(f));
    errors.push(`unknown field 'batching.${k}'${near ? ` (did you mean 'batching.${near}'?)` : ''}`);
  }
  const posInt = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1;
  const nonNeg = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (b.maxBatchSize !== undefined && !posInt(b.maxBatchSize))
    errors.push(`batching.maxBatchSize must be an integer >= 1, got ${show(b.maxBatchSize)}`);
  if (b.maxQueueDelayMs !== undefined && !nonNeg(b.maxQueueDelayMs))
    errors.push(`batching.maxQueueDelayMs must be a number >= 0, got ${show(b.maxQueueDelayMs)}`);
  if (b.sloMs !== undefined && !(nonNeg(b.sloMs) && (b.sloMs as number) > 0))
    errors.push(`batching.sloMs must be a number > 0, got ${show(b.sloMs)}`);
  if (b.preferredBatchSizes !== undefined) {
    if (!(Array.isArray(b.preferredBatchSizes) && b.preferredBatchSizes.every(posInt))) {
      errors.push(`batching.preferredBatchSizes must be a list of integers >= 1, got ${show(b.preferredBatchSizes)}`);
    } else {
      const max = posInt(b.maxBatchSize) ? (b.maxBatchSize as number) : BATCHING_DEFAULTS.maxBatchSize;
      const over = (b.preferredBatchSizes as number[]).filter((n) => n > max);
      if (over.length)
        errors.push(
          `batching.preferredBatchSizes must not exceed batching.maxBatchSize (${max}${b.maxBatchSize === undefined ? ', the default' : ''}), got ${show(over)}`,
        );
    }
  }
  if (b.aimdStep !== undefined && !posInt(b.aimdStep))
    errors.push(`batching.aimdStep must be an integer >= 1, got ${show(b.aimdStep)}`);
  if (b.aimdBackoff !== undefined && !(typeof b.aimdBackoff === 'number' && b.aimdBackoff > 0 && b.aimdBackoff < 1)) {
    errors.push(`batching.aimdBackoff must be a number in (0, 1), got ${show(b.aimdBackoff)}`);
  }
  for (const k of ['aimdStep', 'aimdBackoff'] as const) {
    if (b[k] !== undefined && b.sloMs === undefined)
      errors.push(`batching.${k} is only meaningful with batching.sloMs (the AIMD latency objective)`);
  }
  if (b.handlerAcceptsBatches !== undefined && typeof b.handlerAcceptsBatches !== 'boolean') {
    errors.push(`batching.handlerAcceptsBatches must be true or false, got ${show(b.handlerAcceptsBatches)}`);
  }
  if (errors.length > before) return undefined;
  const out: BatchingOptions = {};
  for (const k of BATCHING_FIELDS) if (b[k] !== undefined) (out as Record<string, unknown>)[k] = b[k];
  return out;
}

export function validateTensors(field: string, v: unknown, errors: string[]): TensorMetadata[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    errors.push(`${field} must be a list of {name, datatype, shape}, got ${show(v)}`);
    return undefined;
  }
  const out: TensorMetadata[] = [];
  v.forEach((t, i) => {
    const where = `${field}[${i}]`;
    if (typeof t !== 'object' || t === null) {
      errors.push(`${where} must be {name, datatype, shape}, got ${show(t)}`);
      return;
    }
    const { name, datatype, shape, optional } = t as Record<string, unknown>;
    if (typeof name !== 'string' || !name) errors.push(`${where}.name must be a non-empty string, got ${show(name)}`);
    if (!isDatatype(datatype))
      errors.push(`${where}.datatype must be one of ${DATATYPES.join(', ')}, got ${show(datatype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= -1))
      errors.push(`${where}.shape must be a list of integers (-1 for a dynamic dimension), got ${show(shape)}`);
    if (optional !== undefined && typeof optional !== 'boolean')
      errors.push(`${where}.optional must be true or false, got ${show(optional)}`);
    out.push({
      name: name as string,
      datatype: datatype as TensorMetadata['datatype'],
      shape: shape as number[],
      ...(optional ? { optional: true } : {}),
    });
  });
  return out;
}
