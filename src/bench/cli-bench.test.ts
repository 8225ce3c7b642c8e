// `tensorshare bench` argument handling and the benchmark inputs. The
// command is registered on a fresh program here (main.ts wires it in).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { buildInputs, tokenIds } from './inputs.js';
import { testEnv } from '../testing/env.js';

const BENCH = pathToFileURL(path.resolve('dist/src/cli/commands/bench.js')).href;
const script = `import { Command } from 'commander'; import { registerBench } from ${JSON.stringify(BENCH)};
const p = new Command('tensorshare'); registerBench(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });`;
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    encoding: 'utf8',
    cwd: path.resolve('.'),
    env: testEnv(),
  });

test('bench --help names the suites and options', () => {
  const r = cli('bench', '--help');
  assert.equal(r.status, 0, r.stderr);
  for (const s of ['density', 'dedup', 'coldstart', 'latency', 'import', '--quick', '--out', '--threads', '--json'])
    assert.ok(r.stdout.includes(s), `mentions ${s}`);
});

test('bench refuses an unknown suite before measuring anything', () => {
  const r = cli('bench', 'speed', '--quick', '--out', '/nonexistent/never-written');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown suite 'speed'.*\[ERR_INVALID_ARGUMENT\]/);
});

test('bench --threads must be a positive integer', () => {
  const r = cli('bench', '--threads', '0');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /positive integer/);
});

test('inputs: token ids are deterministic and within the vocabulary', async () => {
  const a = tokenIds(300, 50);
  assert.deepEqual(a, tokenIds(300, 50));
  for (const v of a) assert.ok(v >= 1n && v < 50n);
  const [ids, mask, img] = await buildInputs([
    { name: 'ids', dtype: 'int64', shape: [2, 3], fill: 'tokens', vocab: 10 },
    { name: 'mask', dtype: 'int64', shape: [2, 3], fill: 'ones' },
    { name: 'x', dtype: 'float32', shape: [2, 3, 48, 320], fill: 'ocr-word' },
  ]);
  assert.equal(ids!.data.length, 6);
  assert.deepEqual([...mask!.data], [1n, 1n, 1n, 1n, 1n, 1n]);
  const per = 3 * 48 * 320;
  assert.equal(img!.data.length, 2 * per);
  const d = img!.data as Float32Array;
  assert.deepEqual(d.subarray(0, per), d.subarray(per), 'the word image repeats over the batch');
  assert.ok(
    d.some((v) => v !== d[0]),
    'a real image, not a constant',
  );
  await assert.rejects(
    buildInputs([{ name: 'x', dtype: 'float32', shape: [1, 3, 48, 100], fill: 'ocr-word' }]),
    /ocr-word input/,
  );
});
