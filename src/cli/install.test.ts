// tensorshare as another project installs it: `npm pack`, then the tarball
// installed into a temporary app, offline, from the npm cache that `npm ci`
// filled. The app's own onnxruntime-node code runs unchanged under
// `node --import tensorshare/register` and its model goes through the daemon.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../paths.js';
import { DaemonClient } from '../client/daemon-client.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { testEnv } from '../testing/env.js';
import { FIXTURES } from '../testing/fixtures.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';

const run = promisify(execFile);

// The app knows nothing about tensorshare.
const APP = `import ort from 'onnxruntime-node';
const session = await ort.InferenceSession.create(process.argv[2], { intraOpNumThreads: 1 });
const x = new ort.Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.5), [1, 3, 48, 192]);
const out = Object.values(await session.run({ x }))[0];
console.log(JSON.stringify({ real: session instanceof ort.InferenceSession, shape: out.dims }));
`;

/** npm without the caller's TENSORSHARE_* settings, quiet, never reaching the network. */
const npmEnv = () => testEnv({ npm_config_update_notifier: 'false' });

let dir: string;
let roots: TempRoots;
let daemon: DaemonProc;
let packStderr = '';
let packed: { filename: string; files: { path: string }[] };

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-install-'));
  // dist/ is built by the test command; packing must not rebuild it.
  const { stdout, stderr } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: packageRoot,
    env: npmEnv(),
  });
  packStderr = stderr;
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;
  roots = await tempRoots();
  daemon = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
});

after(async () => {
  await daemon?.stop();
  killAll();
  await roots?.cleanup();
  await fs.rm(dir, { recursive: true, force: true });
});

test('the package ships no tests and no test helpers; npm has no warning about our configuration', () => {
  assert.doesNotMatch(packStderr, /warn/i, packStderr);
  const files = packed.files.map((f) => f.path);
  assert.ok(
    files.includes('dist/src/client/register.js') &&
      files.includes('bin/tensorshare.js') &&
      files.includes('proto/onnx.proto'),
    files.join('\n'),
  );
  assert.ok(
    files.includes('functions/ocr/handler.js') && files.includes('assets/ocr-page.png'),
    'the bundled functions and their assets ship',
  );
  assert.deepEqual(
    files.filter((f) => /\.test\.|(^|\/)testing\/|test-support|test-worker|test-helpers|\.map$|^src\//.test(f)),
    [],
  );
});

test('an app with the packed tarball installed runs its unchanged onnxruntime-node code through tensorshare', async () => {
  const app = path.join(dir, 'app');
  await fs.mkdir(app);
  const tarball = `file:../${packed.filename}`;
  // A lockfile taken from ours (the production part of the tree), so that
  // npm ci installs offline from the cache: it has tarballs, not registry metadata.
  const pkg = JSON.parse(await fs.readFile(path.join(packageRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(await fs.readFile(path.join(packageRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const production = Object.entries(lock.packages).filter(([k, v]) => k !== '' && !v.dev);
  const ortVersion = (pkg.dependencies as Record<string, string>)['onnxruntime-node']!;
  const manifest = {
    name: 'app',
    private: true,
    type: 'module',
    dependencies: { 'onnxruntime-node': ortVersion, tensorshare: tarball },
    allowScripts: pkg.allowScripts,
  };
  await fs.writeFile(path.join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  await fs.writeFile(
    path.join(app, 'package-lock.json'),
    JSON.stringify(
      {
        name: 'app',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', dependencies: manifest.dependencies },
          'node_modules/tensorshare': {
            version: pkg.version,
            resolved: tarball,
            license: pkg.license,
            dependencies: pkg.dependencies,
            bin: pkg.bin,
            engines: pkg.engines,
          },
          ...Object.fromEntries(production),
        },
      },
      null,
      2,
    ),
  );
  const install = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], {
    cwd: app,
    env: npmEnv(),
    timeout: 240_000,
  });
  // Our lockfile's tree, installed: no EBADENGINE on Node 20, no install script left unreviewed.
  assert.doesNotMatch(install.stderr, /warn/i, install.stderr);
  const installed = await fs.lstat(path.join(app, 'node_modules', 'tensorshare'));
  assert.ok(installed.isDirectory() && !installed.isSymbolicLink(), 'a real copy, not a link to this checkout');
  await fs.writeFile(path.join(app, 'app.mjs'), APP);

  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tensorshare/register', 'app.mjs', FIXTURES.ocrCls], {
      cwd: app,
      env: { ...npmEnv(), TENSORSHARE_SOCKET: daemon.socket },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { real: true, shape: [1, 2] });
  assert.doesNotMatch(result.stderr, /tensorshare/, 'no fallback warning: the daemon served it');
  // The model went through tensorshare: imported on first sight and opened by the daemon.
  const c = new DaemonClient({ socket: daemon.socket, env: {} });
  try {
    assert.deepEqual(
      (await c.list()).map((m) => m.model.split(':')[0]),
      ['auto-ch_ppocr_mobile_v2.0_cls_infer'],
    );
    assert.ok((await c.stats()).totals.opens >= 1);
  } finally {
    await c.disconnect();
  }
});
