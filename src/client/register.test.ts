// `node --import tensorshare/register app` on scripts that know nothing about
// tensorshare: an ESM and a CommonJS app creating sessions from a path, a
// Buffer, a Uint8Array and an ArrayBuffer, with options.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packageDir, packageRoot } from '../paths.js';
import { DaemonClient } from './daemon-client.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { FIXTURES } from '../testing/fixtures.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { testEnv } from '../testing/env.js';

after(killAll);

const ESM_APP = `import ort from 'onnxruntime-node';
import fs from 'node:fs';
const file = process.argv[2];
const bytes = fs.readFileSync(file);
const sessions = [
  await ort.InferenceSession.create(file, { intraOpNumThreads: 1 }),
  await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' }),
  await ort.InferenceSession.create(new Uint8Array(bytes)),
  await ort.InferenceSession.create(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), { intraOpNumThreads: 1 }),
];
const x = new ort.Tensor('float32', new Float32Array(3 * 48 * 320).fill(0.25), [1, 3, 48, 320]);
const sums = [];
for (const s of sessions) {
  const out = Object.values(await s.run({ x }))[0];
  sums.push(out.data.slice(0, 8).reduce((a, b) => a + b, 0).toFixed(5));
}
console.log(JSON.stringify({ real: sessions.every((s) => s instanceof ort.InferenceSession), sums, inputs: sessions[0].inputNames }));
if (process.env.APP_WAIT) { console.log('waiting'); process.stdin.once('data', () => process.exit(0)); }
`;

const CJS_APP = `const ort = require('onnxruntime-node');
(async () => {
  const s = await ort.InferenceSession.create(process.argv[2], { executionProviders: ['cpu'] });
  const x = new ort.Tensor('float32', new Float32Array(3 * 48 * 320).fill(0.25), [1, 3, 48, 320]);
  await s.run({ x });
  await s.release();
  console.log(JSON.stringify({ real: s instanceof ort.InferenceSession }));
})();
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let appDir: string;

function runApp(
  script: string,
  env: Record<string, string>,
  onStdout?: (s: string, child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tensorshare/register', script, FIXTURES.ocrRec], {
      cwd: appDir,
      env: testEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    // A hooked app that never exits fails its test instead of hanging the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

before(async () => {
  // A consumer project: its own node_modules with onnxruntime-node and tensorshare.
  appDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-app-'));
  await fs.mkdir(path.join(appDir, 'node_modules'));
  await fs.symlink(packageDir('onnxruntime-node'), path.join(appDir, 'node_modules', 'onnxruntime-node'));
  await fs.symlink(packageRoot, path.join(appDir, 'node_modules', 'tensorshare'));
  await fs.writeFile(path.join(appDir, 'app.mjs'), ESM_APP);
  await fs.writeFile(path.join(appDir, 'app.cjs'), CJS_APP);
});

after(async () => {
  await fs.rm(appDir, { recursive: true, force: true });
});

describe('with a daemon', () => {
  let roots: TempRoots;
  let d: DaemonProc;
  let c: DaemonClient;
  before(async () => {
    roots = await tempRoots();
    d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
    c = new DaemonClient({ env: {}, socket: d.socket });
  });
  after(async () => {
    await c.disconnect();
    await d.stop();
    await roots.cleanup();
  });

  test('an unchanged ESM script gets real sessions over shared weights, holds leases while it runs, and exits normally', async () => {
    const trace = path.join(roots.dir, 'client-%p.json');
    let pid = 0;
    let stats: Awaited<ReturnType<DaemonClient['stats']>> | undefined;
    const run = await runApp(
      'app.mjs',
      { TENSORSHARE_SOCKET: d.socket, APP_WAIT: '1', TENSORSHARE_PROFILE: trace },
      (out, child) => {
        if (out.includes('waiting') && !pid) {
          pid = child.pid!;
          void c.stats().then((s) => {
            stats = s;
            child.stdin!.write('go\n');
          });
        }
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const res = JSON.parse(run.stdout.split('\n')[0]!) as { real: boolean; sums: string[]; inputs: string[] };
    assert.equal(res.real, true, run.stdout);
    assert.equal(new Set(res.sums).size, 1, `outputs differ: ${res.sums}`);
    assert.deepEqual(res.inputs, ['x']);
    assert.doesNotMatch(run.stderr, /tensorshare/);
    // While the script ran, the daemon held its four leases.
    assert.equal(
      stats!.totals.leases,
      4,
      JSON.stringify({ leases: stats!.leases, stderr: run.stderr, daemon: d.logs.slice(-30) }),
    );
    assert.ok(stats!.leases.every((l) => l.pid === pid));
    const models = (await c.list()).map((m) => m.model.split(':')[0]).sort();
    assert.deepEqual(models, ['auto-bytes', 'auto-ch_PP-OCRv4_rec_infer']);
    // All four sessions map the same tensor files: one copy in the store.
    assert.ok(stats!.totals.usedBytes < 1.1 * (await c.list())[0]!.bytes);
    // It exited by itself, and its leases went with it.
    await until(async () => (await c.stats()).totals.leases === 0, 5000);
    const events = JSON.parse(
      `${await fs.readFile(trace.replace('%p', String(pid)), 'utf8')}`.trimEnd().replace(/[^\]]$/, '$&]'),
    ) as { name: string }[];
    for (const n of ['open-rpc', 'create-session'])
      assert.ok(
        events.some((e) => e.name === n),
        `client trace lacks ${n}`,
      );
  });

  test('a CommonJS script is hooked too; a second run finds the model already imported', async () => {
    const before = (await c.list()).length;
    const run = await runApp('app.cjs', { TENSORSHARE_SOCKET: d.socket });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { real: true });
    assert.equal((await c.list()).length, before);
    assert.ok((await c.stats()).totals.opens >= 5);
  });
});

describe('without a daemon', () => {
  test('plain onnxruntime with exactly one warning', async () => {
    const run = await runApp('app.mjs', { TENSORSHARE_SOCKET: path.join(appDir, 'no-daemon.sock') });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).real, true);
    assert.equal(run.stderr.match(/tensorshare:/g)?.length, 1, run.stderr);
    assert.match(run.stderr, /using plain onnxruntime/);
  });

  test('a dead socket (daemon killed) also falls back, after the connect timeout, with one warning', async () => {
    const sock = path.join(appDir, 'dead.sock');
    await fs.writeFile(sock, '');
    const run = await runApp('app.mjs', { TENSORSHARE_SOCKET: sock, TENSORSHARE_CONNECT_TIMEOUT: '300' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr.match(/tensorshare:/g)?.length, 1, run.stderr);
    assert.match(run.stderr, /daemon unreachable/);
  });

  test('TENSORSHARE_ENABLED=false leaves onnxruntime alone, silently', async () => {
    const run = await runApp('app.cjs', {
      TENSORSHARE_SOCKET: path.join(appDir, 'no-daemon.sock'),
      TENSORSHARE_ENABLED: 'false',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /tensorshare/);
  });
});
