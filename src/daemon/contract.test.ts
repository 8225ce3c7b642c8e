// The daemon's wire contract: message types generated from daemon.proto are
// current, and every error code crosses the wire unchanged (several codes
// share one gRPC status; the code itself travels in trailing metadata).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { DaemonClient } from '../client/daemon-client.js';
import { TensorshareError, type ErrorCode } from '../errors.js';
import { GRPC_STATUS } from '../grpc-status.js';
import { packageRoot } from '../paths.js';
import type { Manager } from './manager.js';
import { serve } from './server.js';
import { resolveDaemonConfig } from './settings.js';
import { killAll, spawnDaemon } from '../testing/daemon.js';
import { writeMatMulChain } from '../testing/models.js';
import { testEnv } from '../testing/env.js';
import { tempRoots } from '../testing/tmp.js';

after(killAll);

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(path.relative(dir, p), await fs.readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return out;
}

test('the committed message types are what proto-loader-gen-types makes of daemon.proto now', async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-gen-'));
  try {
    const r = spawnSync(process.execPath, [path.join(packageRoot, 'scripts/gen-daemon-types.js'), tmp], {
      cwd: packageRoot,
      encoding: 'utf8',
      env: testEnv(),
    });
    assert.equal(r.status, 0, r.stderr);
    const fresh = await filesUnder(tmp);
    const committed = await filesUnder(path.join(packageRoot, 'src/daemon/generated'));
    assert.ok(fresh.size > 20, `the generator wrote ${fresh.size} files`);
    assert.deepEqual(
      [...committed.keys()].sort(),
      [...fresh.keys()].sort(),
      'same files: run npm run gen:daemon-types',
    );
    for (const [f, text] of fresh) assert.equal(committed.get(f), text, `${f} is stale: run npm run gen:daemon-types`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});

describe('every error code reaches the client unchanged, through a real server on a real socket', () => {
  test('each code thrown by the manager arrives as the same code, message and gRPC status', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-codes-'));
    let next: TensorshareError | undefined;
    // Only what the client's ready() and list() reach; the failing call throws `next`.
    const manager = {
      daemonId: 'd1',
      attach: () => ({ attachment: { id: 'a1' }, restored: [], rejected: [] }),
      detach: () => {},
      list: () => {
        throw next;
      },
    } as unknown as Manager;
    const config = resolveDaemonConfig({
      env: {},
      flags: { store: path.join(dir, 'store'), repository: path.join(dir, 'repo'), socket: path.join(dir, 'd.sock') },
    });
    const server = await serve(manager, config, pino({ level: 'silent' }));
    const client = new DaemonClient({ socket: server.socket, env: {} });
    try {
      const codes = Object.keys(GRPC_STATUS) as ErrorCode[];
      for (const code of ['ERR_NO_SPACE', 'ERR_OVERLOADED', 'ERR_INVALID_MODEL', 'ERR_CORRUPT_TENSOR'] as const)
        assert.ok(codes.includes(code));
      for (const code of codes) {
        next = new TensorshareError(code, `failure ${code}`);
        await assert.rejects(client.list(), (e: TensorshareError) => {
          assert.equal(e.code, code);
          assert.equal(e.message, `failure ${code}`);
          assert.equal(e.details.grpcCode, GRPC_STATUS[code]);
          return true;
        });
      }
    } finally {
      await client.disconnect();
      await server.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('codes that share a status with others survive a real daemon', () => {
  test('ERR_INVALID_MODEL (not ONNX) and ERR_CORRUPT_TENSOR (repository lost a tensor) keep their codes', async () => {
    const roots = await tempRoots();
    const repo = path.join(roots.repository, 'repo');
    const d = await spawnDaemon(['--repository', repo, '--store', roots.store]);
    const c = new DaemonClient({ socket: d.socket, env: {} });
    try {
      await assert.rejects(c.upload(Buffer.from('this is not an ONNX model'), 'junk'), {
        code: 'ERR_INVALID_MODEL',
        message: /ONNX/,
      });
      const file = await writeMatMulChain(path.join(roots.repository, 'm.onnx'), [{ rows: 64, cols: 64, seed: 3 }]);
      await c.import(file, 'm');
      const tensors = path.join(repo, 'tensors');
      for (const f of await fs.readdir(tensors)) await fs.rm(path.join(tensors, f), { force: true });
      await assert.rejects(c.open('m', { mode: 'fast-open' }), { code: 'ERR_CORRUPT_TENSOR', message: /lacks/ });
    } finally {
      await c.disconnect();
      await d.stop();
      await roots.cleanup();
    }
  });
});
