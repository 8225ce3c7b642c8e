// The session options each mode gets over the store: what sharing needs
// (the store's tensor folder, prepacking off in fast-open) and the memory
// pattern off (fast-open: its planner reserves a buffer as large as the
// weights; fast-run: one more arena block per input shape, unless asked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeSessionOptions } from './ort-options.js';

const session = (o: ReturnType<typeof storeSessionOptions>) =>
  (o.extra as Record<string, Record<string, string>>).session!;

test('fast-run: no memory pattern unless the caller asks; prepacking stays on', () => {
  const o = storeSessionOptions('fast-run', '/store/tensors', { intraOpNumThreads: 1 });
  assert.equal(o.enableMemPattern, false);
  assert.equal(o.graphOptimizationLevel, 'disabled');
  assert.equal(o.intraOpNumThreads, 1);
  assert.equal(session(o).model_external_initializers_file_folder_path, '/store/tensors');
  assert.equal(session(o).disable_prepacking, undefined);
  assert.equal(storeSessionOptions('fast-run', '/t', { enableMemPattern: true }).enableMemPattern, true);
});

test('fast-open: no memory pattern even when asked, prepacking off', () => {
  const o = storeSessionOptions('fast-open', '/store/tensors', { enableMemPattern: true });
  assert.equal(o.enableMemPattern, false);
  assert.equal(session(o).disable_prepacking, '1');
});

test('the caller keeps the CPU memory arena setting (on by default: off costs run time)', () => {
  assert.equal(storeSessionOptions('fast-run', '/t').enableCpuMemArena, undefined);
  assert.equal(storeSessionOptions('fast-run', '/t', { enableCpuMemArena: false }).enableCpuMemArena, false);
});
