import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testEnv } from '../../testing/env.js';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.resolve('bin/tensorshare.js'), 'sim', 'alloc', ...args], {
    encoding: 'utf8',
    env: testEnv(),
  });

test('sim alloc: the same JSON for the same seed, report files with --out, bad traces name the line', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-simalloc-cli-'));
  try {
    const args = ['--json', '--synthetic', '3000', '--seed', '4', '--allocators', 'caching,learned-arena'];
    const trace = path.resolve('traces/alloc/resnet50-infer-b1.json.gz');
    const a = cli(...args, '--out', dir, trace);
    assert.equal(a.status, 0, a.stderr);
    const report = JSON.parse(a.stdout);
    assert.deepEqual(
      report.traces.map((t: { name: string }) => t.name),
      ['resnet50-infer-b1', 'synthetic-3000-seed4'],
    );
    assert.deepEqual(
      report.results.map((r: { allocator: string }) => r.allocator),
      ['caching', 'learned-arena', 'caching', 'learned-arena'],
    );
    assert.equal(report.timing, undefined);
    assert.equal(readFileSync(path.join(dir, 'results.json'), 'utf8'), a.stdout);
    for (const f of ['report.md', 'sim-alloc-time.svg', 'sim-alloc-calls.svg', 'sim-alloc-reserved.svg'])
      assert.ok(existsSync(path.join(dir, f)), f);
    assert.match(readFileSync(path.join(dir, 'report.md'), 'utf8'), /\| \*real PyTorch, same run\* \| 19 \|/);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"op":"alloc","id":1,"bytes":8}\n{"op":"free","id":2}\n');
    const b = cli(bad);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /bad\.jsonl:2: free of 2, which is not allocated \[ERR_INVALID_ARGUMENT\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
