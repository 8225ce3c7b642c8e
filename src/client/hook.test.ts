import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoName, parseCreateArgs, shareable } from './hook.js';

test('create() argument forms the hook understands', () => {
  const opts = { intraOpNumThreads: 1 };
  assert.deepEqual(parseCreateArgs(['/m/a.onnx', opts]), {
    source: { kind: 'path', file: '/m/a.onnx' },
    options: opts,
  });
  const buf = Buffer.from([1, 2, 3, 4]);
  assert.equal(parseCreateArgs([buf])!.source.kind, 'bytes');
  const ab = new ArrayBuffer(8);
  const p = parseCreateArgs([ab, 2, 4, opts])!;
  assert.equal(p.source.kind === 'bytes' && p.source.bytes.byteOffset, 2);
  assert.equal(p.source.kind === 'bytes' && p.source.bytes.byteLength, 4);
  assert.equal(p.options, opts);
  assert.equal(parseCreateArgs([ab, 6, 4]), undefined); // out of range: ORT reports it
  assert.equal(parseCreateArgs([42]), undefined);
});

test('only CPU sessions without their own external-data handling are shared', () => {
  assert.equal(shareable({}), true);
  assert.equal(shareable({ executionProviders: ['cpu', { name: 'cpu' }] }), true);
  assert.equal(shareable({ executionProviders: ['webgpu'] }), false);
  assert.equal(shareable({ externalData: [] }), false);
  assert.equal(shareable({ optimizedModelFilePath: '/tmp/x.onnx' }), false);
  assert.equal(shareable({ extra: { session: { model_external_initializers_file_folder_path: '/s' } } }), false);
});

test('auto names are valid model names derived from the file name', () => {
  assert.equal(autoName('/models/My Model (v2).onnx'), 'auto-My-Model--v2-');
  assert.equal(autoName(undefined), 'auto-bytes');
  assert.ok(autoName(`/m/${'x'.repeat(300)}.onnx`).length <= 105);
});
