// Opening a resident model imports only what it needs: every instance process
// pays for its module graph in private memory (the builder's ONNX schema and
// protobufjs, the copier's lock and staging, the device transport's koffi:
// about 3 MiB of Pss_Anon together, docs/benchmarks.md section 1). A real
// child process opens the model with a module hook that lists every module
// it loads (koffi, required where a segment is mapped, is looked for in its
// /proc/self/maps); a non-resident open shows the hook sees lazily imported
// modules.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { importModel } from '../store/import.js';
import { mlp, writeModel } from '../gen/index.js';
import { buildFastRun } from '../store/fast-run.js';
import { layout } from '../store/layout.js';
import { localResidency } from './residency.js';
import { testEnv } from '../testing/env.js';

const OPEN_SESSION = pathToFileURL(path.resolve('dist/src/client/open-session.js')).href;
const PRELOAD = pathToFileURL(path.resolve('dist/src/client/device-preload.js')).href;
const HOOK = `export async function load(u, c, n) { if (!u.startsWith('node:')) process.stderr.write('LOAD ' + u + '\\n'); return n(u, c); }`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`;

/** Modules an open of a resident model must not load (each is imported where it is needed). */
const NOT_FOR_RESIDENT = [
  '/node_modules/protobufjs/',
  '/node_modules/proper-lockfile/',
  '/src/onnx/schema.js',
  '/src/store/fast-run.js',
  '/src/store/materialize.js',
  '/src/store/lock.js',
  '/src/client/device-open.js',
  '/src/device/device-session.js',
  '/src/device/transfer.js',
];

/**
 * The device client's files that `npm run build` folds into client/device-open.js (scripts/bundle-device-client.js):
 * a fresh executor client pays Node's per-file loading once for all of them.
 */
const FOLDED_INTO_DEVICE_OPEN = [
  '/src/device/device-session.js',
  '/src/device/framing.js',
  '/src/device/awake.js',
  '/src/device/mapping.js',
  '/src/device/transfer.js',
  '/src/device/protocol.js',
  '/src/shm/segment.js',
  '/src/shm/allocator.js',
];

/** The in-process open's modules (client/open-session.ts imports them at the first in-process open). */
const IN_PROCESS_PATH = [
  '/src/client/residency.js',
  '/src/client/create-session.js',
  '/src/store/resident.js',
  '/src/store/originals.js',
  '/src/store/manifest.js',
  '/src/store/runtime-check.js',
];

/** Opens `name` in a child process and returns the modules it loaded and the mode it served. */
async function openInChild(
  repository: string,
  store: string,
  mode: string,
  preload = false,
): Promise<{ loaded: string[]; served: string; koffi: boolean }> {
  const script = [
    // As a GPU function's instance does at its start (serve/instances/child.ts).
    ...(preload ? [`await (await import(${JSON.stringify(PRELOAD)})).preloadDeviceClient();`] : []),
    `const { openSession } = await import(${JSON.stringify(OPEN_SESSION)});`,
    `const s = await openSession('mlp', ${JSON.stringify({ repository, store, mode, sessionOptions: { intraOpNumThreads: 1 } })});`,
    `const koffi = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8').includes('/koffi');`,
    `process.stdout.write(JSON.stringify({ served: s.mode, koffi }));`,
    `await s.release();`,
  ].join('\n');
  const { loaded, out } = await runWithHook(script);
  const { served, koffi } = JSON.parse(out) as { served: string; koffi: boolean };
  return { loaded, served, koffi };
}

/** Runs an ES module script in a child process with the hook; its stdout and the modules it loaded. */
async function runWithHook(script: string): Promise<{ loaded: string[]; out: string }> {
  const child = spawn(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', script],
    { env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `child failed: ${err.slice(-2000)}`);
  const loaded = err
    .split('\n')
    .filter((l) => l.startsWith('LOAD '))
    .map((l) => l.slice(5));
  return { loaded, out };
}

describe('opening a resident model imports only what it needs', () => {
  let roots: TempRoots;
  before(async () => {
    roots = await tempRoots('open-imports');
    const file = path.join(roots.dir, 'mlp.onnx');
    await writeModel(mlp({ layers: 2, width: 256 }), file);
    const r = await importModel(roots.repository, file, { name: 'mlp' });
    await buildFastRun(layout(roots.repository), layout(roots.repository), r.manifest);
    const residency = localResidency({ repository: roots.repository, store: roots.store });
    for (const mode of ['fast-open', 'fast-run'] as const)
      await (await residency.ensureResident('mlp', mode)).release();
  });
  after(async () => {
    await roots.cleanup();
  });

  for (const mode of ['fast-open', 'fast-run']) {
    test(mode, async () => {
      const { loaded, served, koffi } = await openInChild(roots.repository, roots.store, mode);
      assert.equal(served, mode);
      assert.equal(koffi, false, `koffi loaded by a resident ${mode} open`);
      assert.ok(
        loaded.some((u) => u.endsWith('/src/client/open-session.js')),
        'the hook lists the modules loaded',
      );
      for (const m of NOT_FOR_RESIDENT) {
        const hit = loaded.filter((u) => u.includes(m));
        assert.deepEqual(hit, [], `${m} loaded by a resident ${mode} open`);
      }
    });
  }

  test('a process that will open on a GPU loads the device client ahead (preloadDeviceClient), as one module, without koffi', async () => {
    const { loaded, served, koffi } = await openInChild(roots.repository, roots.store, 'fast-open', true);
    assert.equal(served, 'fast-open');
    assert.ok(
      loaded.some((u) => u.endsWith('/src/client/device-open.js')),
      'device-open.js loaded by preloadDeviceClient',
    );
    for (const m of FOLDED_INTO_DEVICE_OPEN)
      assert.deepEqual(
        loaded.filter((u) => u.endsWith(m)),
        [],
        `${m} loaded as a file of its own: the device client is not folded into device-open.js (npm run build runs scripts/bundle-device-client.js)`,
      );
    // The first copies cross with pread and pwrite: koffi loads after the first answer (or at an open for views).
    assert.equal(koffi, false, 'koffi loaded by preloadDeviceClient');
  });

  test("an executor's instance loads the open function and the device client without the in-process path", async () => {
    // What serve's instance of a `device: cpu-executor` (or GPU) function imports before its first open: the
    // residency and session-creation modules load only at an in-process open (the tests above open that way).
    const { loaded, out } = await runWithHook(
      [
        `const { openSession } = await import(${JSON.stringify(OPEN_SESSION)});`,
        `await (await import(${JSON.stringify(PRELOAD)})).preloadDeviceClient();`,
        `process.stdout.write(typeof openSession);`,
      ].join('\n'),
    );
    assert.equal(out, 'function');
    assert.ok(
      loaded.some((u) => u.endsWith('/src/client/device-open.js')),
      'device client loaded',
    );
    for (const m of IN_PROCESS_PATH) {
      const hit = loaded.filter((u) => u.includes(m));
      assert.deepEqual(hit, [], `${m} loaded by an executor's client before any open`);
    }
  });

  test('a model not yet resident imports the copier', async () => {
    const empty = path.join(roots.dir, 'empty-store');
    const { loaded, served } = await openInChild(roots.repository, empty, 'fast-open');
    assert.equal(served, 'fast-open');
    assert.ok(
      loaded.some((u) => u.includes('/src/store/materialize.js')),
      'materialize.js loaded when the model had to be copied',
    );
  });
});
