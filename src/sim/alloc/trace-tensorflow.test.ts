import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../../errors.js';
import { parseTextMessage } from './text-format.js';
import { parseTensorflowLog } from './trace-tensorflow.js';
import { OP_ALLOC, OP_FREE, traceStats } from './trace.js';

// A small fixture in the exact shape LogMemory writes (glog prefix, label,
// type name, `{ ShortDebugString }`): written for these tests, since no
// TensorFlow could be run here to record a real one.
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
  `${P} __LOG_MEMORY__ MemoryLogStep { step_id: 1 handle: "->Identity:0//0/;0" }`,
  alloc(1, 'dense/MatMul', 2048, 'GPU_0_bfc', 3),
  `${P} __LOG_MEMORY__ MemoryLogTensorOutput { step_id: 1 kernel_name: "dense/MatMul" index: 0 tensor { dtype: DT_FLOAT shape { dim { size: 8 } dim { size: 64 } } allocation_description { requested_bytes: 2048 allocated_bytes: 2048 allocator_name: "GPU_0_bfc" allocation_id: 3 has_single_reference: true ptr: 1 } } }`,
  `${P} __LOG_MEMORY__ MemoryLogRawAllocation { step_id: 1 operation: "xla" num_bytes: 256 ptr: 140432860795136 allocation_id: 9 allocator_name: "GPU_0_bfc" }`,
  alloc(1, 'dense/BiasAdd', 2048, 'GPU_0_bfc', 4),
  dealloc('GPU_0_bfc', 3),
  dealloc('cpu', 3),
  dealloc('GPU_0_bfc', 77),
  `${P} __LOG_MEMORY__ MemoryLogStep { step_id: 2 handle: "->Identity:0//0/;0" }`,
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
