// ortTensorClass() gives onnxruntime-node's own Tensor class without loading
// the binding or onnxruntime-common's session modules: a fresh process takes
// the class, then loads onnxruntime-node, and the two are one object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { testEnv } from './testing/env.js';

const ORT_TENSOR = pathToFileURL(path.resolve('dist/src/ort-tensor.js')).href;

test("ortTensorClass() is onnxruntime-node's Tensor, loaded without the binding or the common index", async () => {
  const script = [
    `import { createRequire } from 'node:module';`,
    `import fs from 'node:fs';`,
    `const { ortTensorClass } = await import(${JSON.stringify(ORT_TENSOR)});`,
    'const T = ortTensorClass();',
    `const cache = () => Object.keys(createRequire(import.meta.url).cache);`,
    `const before = { index: cache().some((k) => k.endsWith('/onnxruntime-common/dist/cjs/index.js')), binding: fs.readFileSync('/proc/self/maps', 'utf8').includes('onnxruntime_binding.node') };`,
    `const t = new T('float32', new Float32Array([1, 2]), [2]);`,
    `const ort = createRequire(${JSON.stringify(ORT_TENSOR)})('onnxruntime-node');`,
    'process.stdout.write(JSON.stringify({ before, same: ort.Tensor === T, isOrt: t instanceof ort.Tensor, dims: t.dims }));',
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: testEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err.slice(-2000));
  assert.deepEqual(JSON.parse(out), {
    before: { index: false, binding: false },
    same: true,
    isOrt: true,
    dims: [2],
  });
});
