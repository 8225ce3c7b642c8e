// A FIFO where a model's external data (or the model file itself) should be:
// import refuses it at once with an error naming the file, in-process, from
// the CLI and through the daemon, where five such imports at once leave List
// and Open answering. Before, opening the FIFO held an I/O thread until a
// writer appeared: four of them filled libuv's pool and the daemon stalled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { importModel } from './import.js';
import { isTensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { testEnv } from '../testing/env.js';
import { tempRoots } from '../testing/tmp.js';
import { writeChain } from '../testing/models.js';
import { spawnDaemon, killAll } from '../testing/daemon.js';
import { DaemonClient } from '../client/daemon-client.js';

const fifoError =
  /tensor 'W0' has external data file 'chain\.data', which is a FIFO \(named pipe\), not a regular file/;

/** A model folder whose external data file is a FIFO nobody writes. */
async function modelWithFifo(dir: string): Promise<string> {
  const file = await writeChain(dir, 'chain', { width: 64, layers: 2 }, 'external-single');
  await fs.rm(path.join(dir, 'chain.data'));
  execFileSync('mkfifo', [path.join(dir, 'chain.data')], { env: testEnv() });
  return file;
}

test('import refuses a FIFO as external data or as the model file, naming it', { timeout: 60_000 }, async () => {
  const roots = await tempRoots('import-fifo');
  try {
    const file = await modelWithFifo(path.join(roots.dir, 'm'));
    await assert.rejects(
      importModel(roots.repository, file, { name: 'chain' }),
      (e) => isTensorshareError(e, 'ERR_INVALID_MODEL') && fifoError.test(e.message),
    );
    const fifoModel = path.join(roots.dir, 'pipe.onnx');
    execFileSync('mkfifo', [fifoModel], { env: testEnv() });
    await assert.rejects(
      importModel(roots.repository, fifoModel, { name: 'pipe' }),
      (e) =>
        isTensorshareError(e, 'ERR_INVALID_MODEL') &&
        /pipe\.onnx: is a FIFO \(named pipe\), not a regular file/.test(e.message),
    );
    await assert.rejects(
      importModel(roots.repository, '/dev/zero', { name: 'zero' }),
      /\/dev\/zero: is a character device, not a regular file/,
    );

    const cli = spawn(
      process.execPath,
      [
        path.join(packageRoot, 'bin/tensorshare.js'),
        '--repository',
        roots.repository,
        '--store',
        roots.store,
        'import',
        file,
        '--name',
        'chain',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: testEnv() },
    );
    let stderr = '';
    cli.stderr!.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((r) => cli.on('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    assert.match(stderr, fifoError);
  } finally {
    await roots.cleanup();
  }
});

test('five FIFO imports through the daemon fail at once while List and Open answer', { timeout: 60_000 }, async () => {
  const roots = await tempRoots('import-fifo-daemon');
  const good = await writeChain(path.join(roots.dir, 'good'), 'good', { width: 8, layers: 1 });
  await importModel(roots.repository, good, { name: 'good' });
  const daemon = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
  const client = new DaemonClient({ env: {}, socket: daemon.socket });
  try {
    const files = await Promise.all([0, 1, 2, 3, 4].map((i) => modelWithFifo(path.join(roots.dir, `fifo${i}`))));
    const imports = files.map((f, i) =>
      client.import(f, `fifo${i}`).then(
        () => undefined,
        (e: Error) => e,
      ),
    );
    // Asked while the five imports are in flight: each answers from the daemon's own state and store.
    const [models, lease] = await Promise.all([client.list(), client.open('good')]);
    assert.deepEqual(
      models.map((m) => m.model),
      ['good:1'],
    );
    assert.equal(lease.model, 'good:1');
    for (const e of await Promise.all(imports)) {
      assert.ok(e && isTensorshareError(e, 'ERR_INVALID_MODEL'), `import failed with ERR_INVALID_MODEL: ${String(e)}`);
      assert.match(e.message, fifoError);
    }
    assert.deepEqual(
      (await client.list()).map((m) => m.model),
      ['good:1'],
    );
  } finally {
    await client.disconnect();
    await daemon.stop();
    killAll();
    await roots.cleanup();
  }
});
