// `tensorshare gen` parses its options, writes files and reports them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { registerGen } from './gen.js';
import { testEnv } from '../../testing/env.js';

async function runGen(args: string[]): Promise<string> {
  let out = '';
  const program = new Command('tensorshare').exitOverride().configureOutput({
    writeOut: (s) => {
      out += s;
    },
    writeErr: () => undefined,
  });
  registerGen(program);
  await program.parseAsync(['gen', ...args], { from: 'user' });
  return out;
}

interface Summary {
  kind: string;
  params: number;
  models: Array<{
    model: string;
    tensorCount: number;
    totalBytes: number;
    files: Array<{ path: string; bytes: number; sha256: string }>;
  }>;
}

test('gen --json writes variants and reports files with sha256', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tensorshare-cli-gen-'));
  try {
    const out = path.join(dir, 'm.onnx');
    const json = await runGen([
      'mlp',
      '--out',
      out,
      '--layers',
      '3',
      '--width',
      '16',
      '--format',
      'external-single',
      '--variants',
      '2',
      '--diff-layers',
      '1',
      '--json',
    ]);
    const s = JSON.parse(json) as Summary;
    assert.equal(s.kind, 'mlp');
    assert.equal(s.params, 3 * (16 * 16 + 16));
    assert.deepEqual(
      s.models.map((m) => path.basename(m.model)),
      ['m-ft1.onnx', 'm-ft2.onnx'],
    );
    for (const m of s.models) {
      assert.equal(m.tensorCount, 6);
      assert.equal(m.files.length, 2);
      for (const f of m.files) assert.match(f.sha256, /^[0-9a-f]{64}$/);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['m-ft1.onnx', 'm-ft1.onnx.data', 'm-ft2.onnx', 'm-ft2.onnx.data']);

    const human = await runGen(['bert', '--preset', 'tiny', '--layers', '1', '--out', path.join(dir, 'b.onnx')]);
    assert.match(human, /^wrote 1 bert model .*b\.onnx/s);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('gen rejects options that do not apply to the kind and bad values', () => {
  // Through the real CLI: errors are reported with their code and exit status.
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.resolve('bin/tensorshare.js'), 'gen', ...args], {
      encoding: 'utf8',
      env: testEnv(),
    });
  const width = cli('bert', '--out', '/nonexistent/x.onnx', '--width', '8');
  assert.equal(width.status, 2);
  assert.match(width.stderr, /--width.*\[ERR_INVALID_ARGUMENT\]/);
  assert.match(cli('mlp', '--out', '/nonexistent/x.onnx', '--layers', 'two').stderr, /--layers must be/);
  assert.match(cli('mlp', '--out', '/nonexistent/x.onnx', '--format', 'zip').stderr, /Allowed choices/);
  const big = cli('mlp', '--preset', 'big', '--out', '/nonexistent/x.onnx');
  assert.equal(big.status, 2);
  assert.match(big.stderr, /2 GiB.*\[ERR_INVALID_ARGUMENT\]/);
});
