// A library built on onnxruntime-node keeps working, unchanged, under the
// register hook: transformers.js runs a local model folder (a generated tiny
// BERT with its config and tokenizer; nothing is downloaded) and its session
// is created through the daemon over shared weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { tinyBertFolder } from '../gen/index.js';
import { packageDir, packageRoot } from '../paths.js';
import { DaemonClient } from './daemon-client.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { testEnv } from '../testing/env.js';

// The application: plain transformers.js, no tensorshare in its code.
const APP = `
import { pipeline, env } from '@huggingface/transformers';
env.allowRemoteModels = false;
env.localModelPath = process.argv[2];
const extract = await pipeline('feature-extraction', 'tiny-bert', { local_files_only: true, dtype: 'fp32' });
const out = await extract(['shared weights load once', 'cold starts are fast'], { pooling: 'mean', normalize: true });
console.log(JSON.stringify({ dims: out.dims, data: Array.from(out.data) }));
`;

let appDir: string;
let roots: TempRoots;
let daemon: DaemonProc;

before(async () => {
  appDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-tjs-'));
  await fs.mkdir(path.join(appDir, 'node_modules', '@huggingface'), { recursive: true });
  await fs.symlink(
    packageDir('@huggingface/transformers'),
    path.join(appDir, 'node_modules', '@huggingface', 'transformers'),
  );
  await fs.symlink(packageRoot, path.join(appDir, 'node_modules', 'tensorshare'));
  await fs.writeFile(path.join(appDir, 'app.mjs'), APP);
  await tinyBertFolder(path.join(appDir, 'models', 'tiny-bert'));
  roots = await tempRoots();
  daemon = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
});
after(async () => {
  killAll();
  await roots.cleanup();
  await fs.rm(appDir, { recursive: true, force: true });
});

function runApp(
  hook: boolean,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const args = [
      ...(hook ? ['--import', 'tensorshare/register'] : []),
      'app.mjs',
      path.join(appDir, 'models') + path.sep,
    ];
    const child = spawn(process.execPath, args, { cwd: appDir, env: testEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('transformers.js feature extraction, unchanged, runs through the daemon with the same results', async () => {
  const plain = await runApp(false);
  assert.equal(plain.code, 0, plain.stderr);
  const hooked = await runApp(true, { TENSORSHARE_SOCKET: daemon.socket });
  assert.equal(hooked.code, 0, hooked.stderr);
  assert.doesNotMatch(hooked.stderr, /falling back|warning/i, 'the daemon was used, no fallback');
  const a = JSON.parse(plain.stdout) as { dims: number[]; data: number[] };
  const b = JSON.parse(hooked.stdout) as { dims: number[]; data: number[] };
  assert.deepEqual(b.dims, [2, 32]);
  assert.deepEqual(b.dims, a.dims);
  // Same model, same math; the hook's fast-open session skips ORT's graph fusions, so allow float rounding.
  for (let i = 0; i < a.data.length; i++)
    assert.ok(Math.abs(a.data[i]! - b.data[i]!) < 1e-5, `element ${i}: ${a.data[i]} vs ${b.data[i]}`);
  const c = new DaemonClient({ env: {}, socket: daemon.socket });
  try {
    const models = await c.list();
    assert.ok(
      models.some((m) => m.model.startsWith('auto-model')),
      `daemon imported the model: ${models.map((m) => m.model).join(', ')}`,
    );
  } finally {
    await c.disconnect();
  }
});

test('without a daemon the same app still works, after one warning', async () => {
  const r = await runApp(true, { TENSORSHARE_SOCKET: path.join(appDir, 'no-daemon.sock') });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { dims: number[] }).dims, [2, 32]);
  assert.equal(r.stderr.match(/tensorshare/g)?.length, 1, `exactly one warning: ${r.stderr}`);
});
