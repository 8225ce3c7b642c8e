// The daemonless path still works after sharing code with the daemon client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { importModel } from '../store/import.js';
import { OCR_REC, tempRoots } from '../daemon/test-support.js';
import { openSession } from './open-session.js';

test('openSession() materializes and opens without a daemon', async () => {
  const roots = await tempRoots();
  try {
    await importModel(roots.repo, OCR_REC, { name: 'ocr-rec' });
    const s = await openSession('ocr-rec', { repository: roots.repo, store: roots.store, sessionOptions: { intraOpNumThreads: 1 } });
    assert.ok(s.materializeMs > 0);
    const out = await s.session.run({ x: new ort.Tensor('float32', new Float32Array(3 * 48 * 320).fill(0.5), [1, 3, 48, 320]) });
    assert.deepEqual(Object.values(out)[0]!.dims, [1, 40, 6625]);
    await s.release();
  } finally {
    await roots.cleanup();
  }
});
