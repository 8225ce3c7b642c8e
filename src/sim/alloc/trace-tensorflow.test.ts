import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isTensorshareError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { parseTextMessage } from './text-format.js';
import { parseTensorflowLog } from './trace-tensorflow.js';
import { OP_ALLOC, OP_FREE, traceStats } from './trace.js';

// A small fixture in the exact shape LogMemory writes (glog prefix, label,
// type name, `{ ShortDebugString }`), small enough to read; the committed
// real logs (traces/alloc/tf-*.log.gz) are parsed by the last tests.
const P = '2026-12-01 17:00:00.000001: I tensorflow/core/framework/log_memory.cc:34]';
const alloc = (step: number, kernel: string, bytes: number, allocator: string, id: number) =>
  `${P} __LOG_MEMORY__ MemoryLogTensorAllocation { step_id: ${step} kernel_name: "${kernel}" tensor { dtype: DT_FLOAT shape { dim { size: ${bytes / 4} } } allocation_description { requested_bytes: ${bytes} allocated_bytes: ${bytes} allocator_name: "${allocator}" allocation_id: ${id} has_single_reference: true ptr: 140432860795136 } } }`;
const dealloc = (allocator: string, id: number) =>
  `${P} __LOG_MEMORY__ MemoryLogTensorDeallocation { allocation_id: ${id} allocator_name: "${allocator}" }`;
const FIXTURE = [
  '2026-12-01 17:00:00.000000: I tensorflow/core/common_runtime/gpu/gpu_device.cc:1639] Created device GPU:0',
  alloc(-6, 'Unknown (from Proto)', 12, 'cpu', 3),
  alloc(-6, 'dense/kernel/Initializer', 4096, 'GPU_0_bfc', 1),
  alloc(-6, 'dense/bias', 64, 'GPU_0_bfc', 2),
  `${P} __LOG_MEMORY__ MemoryLogStep { step_id: 1 handle: "x:0->Identity:0//0/;0" }`,
  alloc(1, 'dense/MatMul', 2048, 'GPU_0_bfc', 3),
  `${P} __LOG_MEMORY__ MemoryLogTensorOutput { step_id: 1 kernel_name: "dense/MatMul" index: 0 tensor { dtype: DT_FLOAT shape { dim { size: 8 } dim { size: 64 } } allocation_description { requested_bytes: 2048 allocated_bytes: 2048 allocator_name: "GPU_0_bfc" allocation_id: 3 has_single_reference: true ptr: 1 } } }`,
  `${P} __LOG_MEMORY__ MemoryLogRawAllocation { step_id: 1 operation: "xla" num_bytes: 256 ptr: 140432860795136 allocation_id: 9 allocator_name: "GPU_0_bfc" }`,
  alloc(1, 'dense/BiasAdd', 2048, 'GPU_0_bfc', 4),
  dealloc('GPU_0_bfc', 3),
  dealloc('cpu', 3),
  dealloc('GPU_0_bfc', 77),
  `${P} __LOG_MEMORY__ MemoryLogStep { step_id: 2 handle: "x:0->Identity:0//0/;1" }`,
  alloc(2, 'dense/MatMul', 2048, 'GPU_0_bfc', 5),
  dealloc('GPU_0_bfc', 4),
  dealloc('GPU_0_bfc', 5),
  '',
].join('\n');

test('the text format: nested messages, repeated fields, C-escaped strings, enums and booleans', () => {
  const text =
    'step_id: -6 kernel_name: "a \\"b\\" \\303\\251\\n" tensor { dtype: DT_INT32 shape { dim { size: 2 } dim { size: 3 } } ok: true } }';
  const { message, end } = parseTextMessage(text, 0, true);
  assert.equal(end, text.length);
  assert.deepEqual(message.step_id, [-6]);
  assert.deepEqual(message.kernel_name, ['a "b" é\n']);
  const tensor = message.tensor![0] as Record<string, unknown[]>;
  assert.deepEqual(tensor.dtype, ['DT_INT32']);
  assert.deepEqual(tensor.ok, [true]);
  const shape = tensor.shape![0] as Record<string, { size: number[] }[]>;
  assert.deepEqual(
    shape.dim!.map((d) => d.size[0]),
    [2, 3],
  );
  assert.throws(() => parseTextMessage('a { b: 1', 0, true), /not closed/);
  assert.throws(() => parseTextMessage('a: "x', 0, false), /string not closed/);
  assert.throws(() => parseTextMessage('a 1', 0, false), /expected ':' or '\{'/);
});

test('a TensorFlow memory log replays the GPU allocator: matched by allocator and id, steps as marks', () => {
  const t = parseTensorflowLog(FIXTURE, 'fixture.log');
  assert.equal(t.format, 'tensorflow');
  assert.deepEqual(Array.from(t.ops), [OP_ALLOC, OP_ALLOC, OP_ALLOC, OP_ALLOC, OP_FREE, OP_ALLOC, OP_FREE, OP_FREE]);
  assert.deepEqual(Array.from(t.idBytes), [4096, 64, 2048, 2048, 2048]);
  // The free of GPU id 3 names the third allocation (dense id 2), not the CPU tensor with the same id.
  assert.equal(t.ids[4], 2);
  assert.deepEqual(
    t.marks.map((m) => [m.at, m.name]),
    [
      [2, 'step'],
      [5, 'step'],
    ],
  );
  assert.deepEqual(t.skipped, {
    'allocator cpu': 2,
    MemoryLogTensorOutput: 1,
    MemoryLogRawAllocation: 1,
    'deallocation of an allocation the log did not show': 1,
  });
  assert.deepEqual(t.meta.allocators, ['GPU_0_bfc', 'cpu']);
  assert.deepEqual(traceStats(t), { allocations: 5, peakRequested: 4096 + 64 + 4096, liveAtEnd: 4160 });
  const cpu = parseTensorflowLog(FIXTURE, 'fixture.log', { allocator: (n) => n === 'cpu' });
  assert.equal(cpu.length, 2);
});

test('bad TensorFlow log lines are errors that name the line', () => {
  const lines = FIXTURE.split('\n');
  const bad = (i: number, line: string, re: RegExp) => {
    const copy = [...lines];
    copy[i] = line;
    assert.throws(
      () => parseTensorflowLog(copy.join('\n'), 'x.log'),
      (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && e.details.line === i + 1 && re.test(e.message),
    );
  };
  bad(3, lines[3]!.slice(0, -4), /x\.log:4: MemoryLogTensorAllocation: .*not closed/);
  bad(3, `${P} __LOG_MEMORY__ MemoryLogTensorWhatever { step_id: 1 }`, /x\.log:4: unknown __LOG_MEMORY__ record type/);
  bad(3, `${P} __LOG_MEMORY__ MemoryLogTensorAllocation step_id: 1`, /x\.log:4: __LOG_MEMORY__ is not followed by/);
  bad(3, lines[3]!.replace('allocation_id: 2', 'allocation_id: "two"'), /x\.log:4: allocation_id is not an integer/);
  bad(
    3,
    lines[3]!.replace('allocation_id: 2', 'allocation_id: 1'),
    /x\.log:4: allocation GPU_0_bfc#1 is allocated again/,
  );
  bad(9, `${dealloc('GPU_0_bfc', 4)} trailing`, /x\.log:10: .*text after the closing/);
});

test('steps: a run that feeds nothing is the model load; one that feeds inputs, or a callable with no handle, is a step', () => {
  const step = (handle?: string) =>
    `${P} __LOG_MEMORY__ MemoryLogStep { step_id: 1${handle === undefined ? '' : ` handle: "${handle}"`} }`;
  const log = [
    step('->VarIsInitializedOp:0,VarIsInitializedOp_1:0//0/;0'),
    alloc(1, 'w/Initializer', 4096, 'GPU_0_bfc', 1),
    step('->/init/0/;1'),
    step('input_1:0->predictions/Softmax:0//0/;2'),
    alloc(3, 'dense/MatMul', 64, 'GPU_0_bfc', 2),
    step(),
    alloc(4, 'dense/MatMul', 64, 'GPU_0_bfc', 3),
  ].join('\n');
  const t = parseTensorflowLog(log, 'steps.log');
  assert.deepEqual(
    t.marks.map((m) => [m.at, m.name]),
    [
      [0, 'load'],
      [1, 'load'],
      [1, 'step'],
      [2, 'step'],
    ],
  );
});

test('a CPU-only log replays its CPU allocator; tensors without allocation_id are counted, not paired', () => {
  // As TensorFlow 2.18 writes them on the CPU: allocation_id 0 is left out by proto3's text format.
  const untracked = `${P} __LOG_MEMORY__ MemoryLogTensorAllocation { step_id: -6 kernel_name: "Unknown (from Proto)" tensor { dtype: DT_INT32 shape { dim { size: 4 } } allocation_description { requested_bytes: 16 allocator_name: "mklcpu" ptr: 94752315764352 } } }`;
  const log = [
    untracked,
    alloc(1, 'conv1/Conv2D', 1024, 'mklcpu', 7),
    untracked,
    `${P} __LOG_MEMORY__ MemoryLogTensorDeallocation { allocator_name: "mklcpu" }`,
    dealloc('mklcpu', 7),
  ].join('\n');
  const t = parseTensorflowLog(log, 'cpu.log');
  assert.deepEqual(Array.from(t.ops), [OP_ALLOC, OP_FREE]);
  assert.deepEqual(Array.from(t.idBytes), [1024]);
  assert.deepEqual(t.skipped, {
    'untracked allocation (no allocation_id)': 2,
    'untracked deallocation (no allocation_id)': 1,
  });
  assert.equal(t.meta.untrackedBytes, 32);
  assert.match(String(t.meta.replayed), /no GPU allocator/);
  // With a GPU allocator in the log, the CPU one is not replayed.
  assert.equal(parseTensorflowLog(`${log}\n${alloc(1, 'x', 64, 'GPU_0_bfc', 1)}`, 'mixed.log').length, 1);
});

test('the committed TensorFlow logs parse: every untracked allocation has its deallocation, steps and load marked', () => {
  const file = path.join(packageRoot, 'traces', 'alloc', 'tf-resnet50-infer-b1.log.gz');
  const text = gunzipSync(readFileSync(file)).toString('utf8');
  const t = parseTensorflowLog(text, file);
  assert.ok(t.length > 1000, `${t.length} events`);
  assert.deepEqual(t.meta.allocators, ['mklcpu']);
  // Two load runs (variables initialised) and the four requests the script made.
  assert.deepEqual(
    t.marks.map((m) => m.name),
    ['load', 'load', 'step', 'step', 'step', 'step'],
  );
  assert.equal(
    t.skipped['untracked allocation (no allocation_id)'],
    t.skipped['untracked deallocation (no allocation_id)'],
  );
  // The process ends by closing its session: everything it logged is freed.
  assert.equal(traceStats(t).liveAtEnd, 0);
  // A real line broken in the middle is an error naming its line.
  const lines = text.split('\n');
  const n = lines.findIndex((l) => l.includes('MemoryLogTensorAllocation') && l.includes('allocation_id'));
  lines[n] = lines[n]!.slice(0, -3);
  assert.throws(
    () => parseTensorflowLog(lines.join('\n'), 'real.log'),
    (e: unknown) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && e.details.line === n + 1 && /not closed/.test(e.message),
  );
});
