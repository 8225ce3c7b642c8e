// Opening a model loads only what an open needs: the fast-run builder (the
// ONNX schema, protobufjs), the commit lock (proper-lockfile) and the device
// client (koffi) load when used. Checked in a fresh Node process: the
// CommonJS packages it has loaded are in its require.cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { testEnv } from '../testing/env.js';

test('importing openSession loads neither protobufjs, proper-lockfile nor koffi', () => {
  const url = new URL('./open-session.js', import.meta.url).href;
  const script = `await import(${JSON.stringify(url)});
const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify(cache));`;
  const loaded = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: testEnv() }).toString(),
  ) as string[];
  for (const pkg of ['protobufjs', 'proper-lockfile', 'koffi'])
    assert.deepEqual(
      loaded.filter((f) => f.includes(`/node_modules/${pkg}/`)),
      [],
      `${pkg} is loaded by the open path`,
    );
  // The check sees CommonJS packages an ES module imports: the builder's module brings protobufjs.
  const builder = new URL('../store/fast-run.js', import.meta.url).href;
  const withBuilder = JSON.parse(
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', script.replace(JSON.stringify(url), JSON.stringify(builder))],
      {
        env: testEnv(),
      },
    ).toString(),
  ) as string[];
  assert.ok(withBuilder.some((f) => f.includes('/node_modules/protobufjs/')));
});
