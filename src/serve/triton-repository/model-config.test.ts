// config.pbtxt parsing against Triton's vendored model_config.proto: the text
// format as Triton's own examples write it, and every kind of mistake gets an
// ERR_INVALID_ARGUMENT naming the file and the line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../../errors.js';
import { parseModelConfig } from './model-config.js';

const FILE = 'models/densenet/config.pbtxt';

test('parses a config.pbtxt written the way Triton documents it', () => {
  const c = parseModelConfig(
    `# a comment
name: "densenet"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  {
    name: "data_0"
    data_type: TYPE_FP32
    format: FORMAT_NCHW
    dims: [ 3, 224, 224 ]
    reshape: { shape: [ ] }
  }
]
output [ { name: "prob", data_type: TYPE_FP32, dims: [ 1000 ] label_filename: "labels.txt" } ]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 100
  priority_levels: 2
  default_priority_level: 2
  default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 5000 allow_timeout_override: true max_queue_size: 7 }
  priority_queue_policy { key: 1 value: { max_queue_size: 3 } }
}
instance_group [ { count: 2 kind: KIND_GPU gpus: [ 0, 1 ] }, { kind: KIND_CPU } ]
version_policy: { specific: { versions: [ 1, 3 ] } }
parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
`,
    FILE,
  );
  assert.equal(c.name, 'densenet');
  assert.equal(c.platform, 'onnxruntime_onnx');
  assert.equal(c.max_batch_size, 8);
  assert.deepEqual(c.input?.[0], {
    name: 'data_0',
    data_type: 'TYPE_FP32',
    format: 'FORMAT_NCHW',
    dims: [3, 224, 224],
    reshape: {},
  });
  assert.deepEqual(c.output?.[0], { name: 'prob', data_type: 'TYPE_FP32', dims: [1000], label_filename: 'labels.txt' });
  assert.deepEqual(c.dynamic_batching, {
    preferred_batch_size: [4, 8],
    max_queue_delay_microseconds: 100,
    priority_levels: 2,
    default_priority_level: 2,
    default_queue_policy: {
      timeout_action: 'DELAY',
      default_timeout_microseconds: 5000,
      allow_timeout_override: true,
      max_queue_size: 7,
    },
    priority_queue_policy: { 1: { max_queue_size: 3 } },
  });
  assert.deepEqual(c.instance_group, [{ count: 2, kind: 'KIND_GPU', gpus: [0, 1] }, { kind: 'KIND_CPU' }]);
  assert.deepEqual(c.version_policy, { specific: { versions: [1, 3] } });
  assert.deepEqual(c.parameters, { intra_op_thread_count: { string_value: '2' } });
});

test('an empty config is a valid one (everything from the model, as Triton auto-completes)', () => {
  assert.deepEqual(parseModelConfig('', FILE), {});
});

/** The error for `text`, checked to be ERR_INVALID_ARGUMENT naming FILE. */
function failure(text: string) {
  try {
    parseModelConfig(text, FILE);
  } catch (e) {
    assert.ok(isTensorshareError(e, 'ERR_INVALID_ARGUMENT'), String(e));
    assert.equal(e.details.file, FILE);
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

test('mistakes name the file and the line, whether the tokenizer or a value check finds them', () => {
  const cases: [string, number, RegExp][] = [
    ['name: "m"\nmax_batch_sise: 8\n', 2, /unknown field 'max_batch_sise'/],
    ['name: "m"\n\ninput [ { name: "x" data_type: TYPE_FP33 } ]\n', 3, /data_type: enum value expected/],
    ['max_batch_size: 8\nname: "m"\nmax_batch_size: 4\n', 3, /max_batch_size: multiple values/],
    ['name: "m"\nmax_batch_size: "eight"\n', 2, /integer value expected/],
    ['name: "m"\ninstance_group [ { count: 99999999999 } ]\n', 2, /out of range/],
    ['name: "m"\ninput [ { name: "x" }\n', 3, /expected/],
    ['name: "m"\nname: "unterminated\n', 2, /string/],
    ['version_policy: { latest: { num_versions: 1 } all: {} }\n', 1, /multiple values/],
  ];
  for (const [text, line, problem] of cases) {
    const e = failure(text);
    assert.equal(e.details.line, line, `${JSON.stringify(text)}: ${e.message}`);
    assert.match(
      e.message,
      new RegExp(`^${FILE.replace(/[./]/g, '\\$&')}:${line}: not a valid Triton model configuration: `),
    );
    assert.match(e.message, problem);
  }
});
