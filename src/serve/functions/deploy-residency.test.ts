// Deploy makes models resident through the daemon when one is in use (the
// daemon stays the only writer of the store), and the gateway process of a
// real `tensorshare serve` never loads ONNX Runtime: fast-run variants are
// built in the daemon's build process, or in one of the gateway's own
// without a daemon. Checked in /proc/<pid>/maps of the serve process, with
// an instance process (which does load it) as the proof that the check sees
// ORT where it is loaded.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DaemonClient } from '../../client/daemon-client.js';
import { listProcessTree } from '../../testing/proc-tree.js';
import { importModel } from '../../store/import.js';
import { layout } from '../../store/layout.js';
import { listVariants } from '../../store/repository.js';
import { writeFunction } from '../../testing/functions.js';
import { writeChain } from '../../testing/models.js';
import { spawnServe, type ServeChild } from '../../testing/serve.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';

/** Whether a process has ONNX Runtime's native library mapped. */
async function loadsOrt(pid: number): Promise<boolean> {
  const maps = await fs.readFile(`/proc/${pid}/maps`, 'utf8').catch(() => '');
  return /onnxruntime/i.test(maps);
}

/** A real serve on `roots` (HTTP only, no polling); the bundled models only when asked. */
function serve(roots: TempRoots, functions: string, daemon: 'auto' | 'off', bundled = false): Promise<ServeChild> {
  return spawnServe(roots, functions, [
    '--grpc-port',
    'off',
    '--daemon',
    daemon,
    ...(bundled ? [] : ['--no-bundled']),
    '--poll',
    '0',
    // No idle pre-started process: the tests below count the processes that load ONNX Runtime.
    '--prestart',
    '0',
  ]);
}

async function infer(url: string): Promise<number[]> {
  const res = await fetch(`${url}/v2/models/raw/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 0, 0, 1] }] }),
  });
  const body = (await res.json()) as { outputs?: { data: number[] }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.outputs![0]!.data;
}

describe('deploy and the gateway process', () => {
  test('with a daemon: deploy opens through the daemon, which builds the variant; the gateway never loads ONNX Runtime', async () => {
    const roots = await tempRoots('ts-deploy-daemon');
    try {
      await importModel(
        roots.repository,
        await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 4, layers: 2 }),
        { name: 'chain' },
      );
      const functions = path.join(roots.dir, 'functions');
      // minInstances 0: no instance starts at deploy, so deploy is the only one asking for the model.
      await writeFunction(functions, 'raw', { model: 'chain', mode: 'fast-run', minInstances: 0 });
      const s = await serve(roots, functions, 'auto');
      const client = new DaemonClient({ socket: path.join(roots.store, 'daemon.sock'), env: {} });
      try {
        const stats = await client.stats();
        assert.equal(stats.totals.opens, 1, 'deploy opened the model through the daemon');
        assert.equal(stats.totals.fastRunBuilds, 1, 'the daemon built the fast-run variant');
        assert.deepEqual(
          stats.models
            .filter((m) => m.resident)
            .map((m) => m.mode)
            .sort(),
          ['fast-run'],
          "resident in the daemon's account: the variant only (the build read the model, whose replaced files then left the store: issue 15's density)",
        );
        assert.equal(stats.totals.leases, 0, "deploy's lease ended with the deploy");
        assert.equal(await loadsOrt(s.child.pid!), false, 'the serve process has not loaded ONNX Runtime');

        assert.equal((await infer(s.url)).length, 4);
        const after = await client.stats();
        assert.equal(after.totals.opens, 2, 'the instance opened through the daemon too');
        const tree = listProcessTree(s.child.pid!).slice(1);
        const withOrt = (await Promise.all(tree.map(async (pid) => ((await loadsOrt(pid)) ? pid : 0)))).filter(
          (p) => p,
        );
        assert.equal(
          withOrt.length,
          1,
          `exactly the instance process maps ONNX Runtime (descendants: ${tree.join(', ')})`,
        );
        assert.equal(await loadsOrt(s.child.pid!), false, 'still not in the serve process after serving');
      } finally {
        await client.disconnect();
        await s.stop();
      }
    } finally {
      await roots.cleanup();
    }
  });

  test('without a daemon: deploy builds the variant in a build process; the gateway never loads ONNX Runtime', async () => {
    const roots = await tempRoots('ts-deploy-local');
    try {
      const m = (
        await importModel(
          roots.repository,
          await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 4, layers: 2 }),
          { name: 'chain' },
        )
      ).manifest;
      const functions = path.join(roots.dir, 'functions');
      await writeFunction(functions, 'raw', { model: 'chain', mode: 'fast-run', minInstances: 0 });
      assert.equal((await listVariants(layout(roots.repository), m.digest)).length, 0);
      const s = await serve(roots, functions, 'off');
      try {
        const variants = await listVariants(layout(roots.repository), m.digest);
        assert.deepEqual(
          variants.map((v) => v.status),
          ['ok'],
          'deploy built the fast-run variant',
        );
        await fs.access(path.join(roots.store, 'variants', m.digest));
        assert.equal(await loadsOrt(s.child.pid!), false, 'the serve process has not loaded ONNX Runtime');
        assert.equal((await infer(s.url)).length, 4);
        assert.equal(await loadsOrt(s.child.pid!), false);
      } finally {
        await s.stop();
      }
    } finally {
      await roots.cleanup();
    }
  });

  test('importing the bundled models at start (the default) builds their variants in a build process, not the gateway', async () => {
    const roots = await tempRoots('ts-deploy-bundled');
    try {
      const functions = path.join(roots.dir, 'functions');
      await fs.mkdir(functions);
      const s = await serve(roots, functions, 'off', true);
      try {
        const rec = JSON.parse(
          await fs.readFile(path.join(roots.repository, 'models', 'ppocr-rec', '1.json'), 'utf8'),
        ) as { digest: string };
        const variants = await listVariants(layout(roots.repository), rec.digest);
        assert.deepEqual(
          variants.map((v) => v.status),
          ['ok'],
          "the bundled model's fast-run variant was built",
        );
        assert.equal(await loadsOrt(s.child.pid!), false, 'the serve process has not loaded ONNX Runtime');
      } finally {
        await s.stop();
      }
    } finally {
      await roots.cleanup();
    }
  });
});
