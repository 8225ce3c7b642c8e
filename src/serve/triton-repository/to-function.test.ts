// config.pbtxt -> function config: each supported field lands on its
// tensorshare setting (and passes validateConfig), ignored fields are listed
// with their reason, unsupported ones fail naming the line, and the declared
// I/O is checked against the model's own; version_policy picks the versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../../errors.js';
import type { IoSpec } from '../../store/manifest.js';
import { validateConfig } from '../functions/config.js';
import { parseModelConfig } from './model-config.js';
import { IGNORED_WHY, mapModelVersion } from './to-function.js';
import { servedVersions } from './versions.js';

const FILE = 'models/rec/config.pbtxt';
/** ppocr-rec's own I/O, as its manifest has it. */
const REC: { inputs: IoSpec[]; outputs: IoSpec[] } = {
  inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 3, 48, 'w'] }],
  outputs: [{ name: 'softmax_11.tmp_0', dtype: 'float32', shape: ['n', 't', 6625] }],
};

const map = (text: string, io = REC) =>
  mapModelVersion(parseModelConfig(text, FILE), { model: 'rec', version: 2, ref: 'rec:5', file: FILE, text, io });

test('the supported fields map onto the function config, and validateConfig takes it', () => {
  const { config, ignored } = map(`
name: "rec"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3, 48, -1 ] } ]
output [ { name: "softmax_11.tmp_0" data_type: TYPE_FP32 dims: [ -1, 6625 ] } ]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 2500
  priority_levels: 3
  default_priority_level: 2
  default_queue_policy { default_timeout_microseconds: 1500 allow_timeout_override: true max_queue_size: 7 }
}
instance_group [ { count: 3 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
`);
  assert.deepEqual(config, {
    model: 'rec:5',
    description: "Triton model 'rec' version 2",
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] }],
    outputs: [{ name: 'softmax_11.tmp_0', datatype: 'FP32', shape: [-1, -1, 6625] }],
    priority: 'besteffort',
    requestTimeoutMs: 2,
    maxQueueLength: 7,
    batching: { maxBatchSize: 8, maxQueueDelayMs: 2.5, preferredBatchSizes: [4, 8] },
    minInstances: 3,
    maxInstances: 3,
    device: 'cpu',
    intraOpThreads: 2,
  });
  assert.deepEqual(ignored, []);
  const fn = validateConfig(config, FILE, 'rec@2');
  assert.equal(fn.batching?.maxBatchSize, 8);
  assert.deepEqual(fn.models, { model: { ref: 'rec:5' } });
});

test('defaults: no config at all serves the model as it is, one instance, wherever the daemon runs it', () => {
  const { config } = map('');
  assert.deepEqual(config.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] }]);
  assert.deepEqual(config.outputs, [{ name: 'softmax_11.tmp_0', datatype: 'FP32', shape: [-1, -1, 6625] }]);
  assert.equal(config.minInstances, 1);
  assert.equal(config.maxInstances, 1);
  assert.equal(config.device, 'auto');
  assert.equal(config.batching, undefined);
  assert.equal(config.priority, undefined);
});

test('instance_group: KIND_GPU is the GPU tier (count per listed GPU, on the first), KIND_AUTO and KIND_MODEL are auto', () => {
  const gpu = map('instance_group [ { count: 2 kind: KIND_GPU gpus: [ 1, 2 ] } ]');
  assert.equal(gpu.config.device, 'gpu:1');
  assert.equal(gpu.config.minInstances, 4);
  assert.deepEqual(gpu.ignored, [{ field: 'instance_group[0].gpus', why: IGNORED_WHY.extra_gpus }]);
  assert.deepEqual(validateConfig(gpu.config, FILE, 'rec@2').device, { gpu: 1 });
  assert.equal(map('instance_group [ { kind: KIND_GPU } ]').config.device, 'gpu:0');
  assert.equal(map('instance_group [ { count: 2 kind: KIND_MODEL } ]').config.device, 'auto');
  // Two CPU groups add up.
  assert.equal(map('instance_group [ { count: 2 kind: KIND_CPU }, { kind: KIND_CPU } ]').config.maxInstances, 3);
});

test('ignored fields are listed with their reasons', () => {
  const { ignored } = map(`
max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 48, -1 ] } ]
optimization { execution_accelerators { gpu_execution_accelerator : [ { name : "tensorrt" } ] } }
model_warmup [ { name: "w" batch_size: 1 } ]
response_cache { enable: true }
dynamic_batching {
  preserve_ordering: true
  priority_levels: 2
  default_priority_level: 1
  default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 100 }
  priority_queue_policy { key: 2 value: { max_queue_size: 1 } }
}
instance_group [ { name: "g" count: 1 kind: KIND_CPU passive: true } ]
parameters { key: "enable_mem_arena" value: { string_value: "1" } }
`);
  assert.deepEqual(
    ignored.map((f) => f.field),
    [
      'optimization',
      'model_warmup',
      'response_cache',
      'input[0] "x".format',
      'dynamic_batching.priority_queue_policy',
      'dynamic_batching.preserve_ordering',
      'dynamic_batching.default_queue_policy.timeout_action',
      'dynamic_batching.default_queue_policy.allow_timeout_override',
      'instance_group[0].name, passive',
      'parameters "enable_mem_arena"',
    ],
  );
  for (const f of ignored) assert.ok(f.why.length > 20, f.field);
  // dynamic_batching of a model without a batch dimension batches nothing.
  assert.deepEqual(map('dynamic_batching { }').ignored, [
    { field: 'dynamic_batching', why: IGNORED_WHY.dynamic_batching_without_batch },
  ]);
});

/** The message of the error mapping `text` throws (ERR_INVALID_ARGUMENT naming FILE). */
function failure(text: string, io = REC): string {
  try {
    map(text, io);
  } catch (e) {
    assert.ok(isTensorshareError(e, 'ERR_INVALID_ARGUMENT'), String(e));
    assert.ok(e.message.startsWith(`${FILE}: `), e.message);
    return e.message;
  }
  assert.fail(`no error for ${text}`);
}

test('what cannot be served as configured fails, naming the line', () => {
  assert.match(failure('name: "rec"\nplatform: "tensorrt_plan"'), /line 2: platform 'tensorrt_plan'.*not served/);
  assert.match(failure('backend: "python"'), /line 1: .*backend 'python' is not served/);
  assert.match(failure('name: "other"'), /line 1: name "other" differs from the model's folder name 'rec'/);
  assert.match(failure('max_batch_size: 2\nsequence_batching { }'), /line 2: sequence_batching/);
  assert.match(failure('model_transaction_policy { decoupled: true }'), /line 1: decoupled models/);
  assert.match(
    failure('max_batch_size: 4\ndynamic_batching { preferred_batch_size: [ 2, 9 ] }'),
    /line 2: dynamic_batching.preferred_batch_size must be in \[1, max_batch_size 4\], got 9/,
  );
  assert.match(
    failure('dynamic_batching {\n priority_levels: 2\n default_priority_level: 3\n}'),
    /line 3: dynamic_batching.default_priority_level must be in \[1, 2\], got 3/,
  );
  assert.match(
    failure('instance_group [\n { kind: KIND_CPU },\n { kind: KIND_GPU } ]'),
    /line 1: instance_group mixes devices \(cpu, gpu:0\)/,
  );
  assert.match(
    failure('parameters { key: "intra_op_thread_count" value: { string_value: "many" } }'),
    /intra_op_thread_count" must be an integer/,
  );
});

test("declared I/O is checked against the model's own", () => {
  const input = (t: string, extra = 'max_batch_size: 8\n') => failure(`${extra}input [\n  { ${t} }\n]`);
  assert.match(
    input('name: "y" data_type: TYPE_FP32 dims: [ 3, 48, -1 ]'),
    /line 3: input\[0\] "y": the model has no input 'y' \(its inputs: x\)/,
  );
  assert.match(
    input('name: "x" data_type: TYPE_INT64 dims: [ 3, 48, -1 ]'),
    /data_type TYPE_INT64 \(INT64\) but the model's input is FP32/,
  );
  assert.match(
    input('name: "x" data_type: TYPE_FP32 dims: [ 4, 48, -1 ]'),
    /dims \[4, 48, -1\] \(with the batch dimension first\) do not fit the model's shape \[-1, 3, 48, -1\]/,
  );
  assert.match(input('name: "x" data_type: TYPE_FP32 dims: [ 3, 48 ]'), /do not fit/);
  assert.match(
    input('name: "x" data_type: TYPE_FP32 dims: [ 3, 48, -1 ] reshape: { shape: [ 3, 48, 1, -1 ] }'),
    /reshape \[3, 48, 1, -1\] of dims \[3, 48, -1\]: only fixed dims/,
  );
  assert.match(input('name: "x" data_type: TYPE_BF16 dims: [ 3, 48, -1 ]'), /TYPE_BF16 has no protocol datatype/);
  // Without max_batch_size the dims are the whole shape.
  assert.match(input('name: "x" data_type: TYPE_FP32 dims: [ 3, 48, -1 ]', ''), /do not fit the model's shape/);
  // A model input left out of the config.
  const two = { ...REC, inputs: [...REC.inputs, { name: 'sr', dtype: 'int64', shape: [] }] };
  assert.match(
    failure('input [ { name: "x" data_type: TYPE_FP32 dims: [ -1, 3, 48, -1 ] } ]', two),
    /the model's input 'sr' missing from the config/,
  );
  // max_batch_size needs a dynamic first dimension.
  const fixed = { inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3] }], outputs: REC.outputs };
  assert.match(
    failure('max_batch_size: 4', fixed),
    /line 1: max_batch_size 4 needs a dynamic first dimension.*'x' has shape \[1, 3\]/,
  );
  // The config fixes a dimension the model leaves free; outputs may be a subset.
  const ok = map('input [ { name: "x" data_type: TYPE_FP32 dims: [ 1, 3, 48, 320 ] optional: true } ]');
  assert.deepEqual(ok.config.inputs, [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 320], optional: true }]);
});

test("a simple reshape (fixed sizes, as many elements) maps the protocol's dims onto the model's shape", () => {
  // silero VAD's sample rate is a scalar; Triton configs declare it as dims [ 1 ] reshaped to [ ].
  const vad: { inputs: IoSpec[]; outputs: IoSpec[] } = {
    inputs: [
      { name: 'input', dtype: 'float32', shape: ['batch', 'sequence'] },
      { name: 'sr', dtype: 'int64', shape: [] },
    ],
    outputs: [{ name: 'output', dtype: 'float32', shape: ['batch', 1] }],
  };
  const text = `input [
  { name: "input" data_type: TYPE_FP32 dims: [ -1, -1 ] },
  { name: "sr" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } }
]
output [ { name: "output" data_type: TYPE_FP32 dims: [ 1, 1, 1 ] reshape: { shape: [ 1, 1 ] } } ]`;
  const cfg = parseModelConfig(text, FILE);
  const m = mapModelVersion(cfg, { model: 'vad', version: 1, ref: 'vad:1', file: FILE, text, io: vad });
  assert.equal(m.reshaped, true);
  assert.deepEqual(m.config.inputs, [
    { name: 'input', datatype: 'FP32', shape: [-1, -1] },
    { name: 'sr', datatype: 'INT64', shape: [1] },
  ]);
  assert.deepEqual(m.config.outputs, [{ name: 'output', datatype: 'FP32', shape: [1, 1, 1] }]);
  assert.equal(map('').reshaped, false);
  // With a batch dimension and dynamic batching, batches pass through the reshape handler.
  const flat = { inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 6] }], outputs: REC.outputs };
  const batched = map(
    'max_batch_size: 4\ndynamic_batching { }\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 2, 3 ] reshape: { shape: [ 6 ] } } ]',
    flat,
  );
  assert.deepEqual(batched.config.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 2, 3] }]);
  assert.equal((batched.config.batching as Record<string, unknown>).handlerAcceptsBatches, true);
  // Without a reshape there is no handler, and nothing to say about it.
  assert.equal(
    (map('max_batch_size: 4\ndynamic_batching { }').config.batching as Record<string, unknown>).handlerAcceptsBatches,
    undefined,
  );
  // The handler reads the model's side from the model: it must be fixed there.
  const free = { inputs: [{ name: 'x', dtype: 'float32', shape: ['a', 'b'] }], outputs: REC.outputs };
  assert.match(
    failure('input [ { name: "x" data_type: TYPE_FP32 dims: [ 6 ] reshape: { shape: [ 2, 3 ] } } ]', free),
    /reshape of an input whose model shape \[-1, -1\] has free dimensions is not supported/,
  );
  assert.match(
    failure('input [ { name: "x" data_type: TYPE_FP32 dims: [ 2, 3 ] reshape: { shape: [ 7 ] } } ]'),
    /reshape \[7\] of dims \[2, 3\]: only fixed dims and shape with as many elements/,
  );
});

test('version_policy: latest N (default 1), all, specific (missing versions reported)', () => {
  const present = [7, 3, 2, 1];
  assert.deepEqual(servedVersions(undefined, present), { versions: [7], missing: [] });
  assert.deepEqual(servedVersions({ latest: { num_versions: 2 } }, present), { versions: [7, 3], missing: [] });
  assert.deepEqual(servedVersions({ all: {} }, present), { versions: [7, 3, 2, 1], missing: [] });
  assert.deepEqual(servedVersions({ specific: { versions: [1, 3, 9] } }, present), { versions: [3, 1], missing: [9] });
  assert.deepEqual(servedVersions({ latest: { num_versions: 9 } }, []), { versions: [], missing: [] });
});
