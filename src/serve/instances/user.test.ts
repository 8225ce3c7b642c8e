// Instances run as an unprivileged user (serve as root): a handler that
// tries to open a store tensor read-write is refused by the kernel while it
// still serves (its model runs through the daemon's socket). The user
// resolution and the tenant mapping are checked on their own.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import type { TensorshareError } from '../../errors.js';
import { importModel } from '../../store/import.js';
import { layout } from '../../store/layout.js';
import { testEnv } from '../../testing/env.js';
import { writeFunction } from '../../testing/functions.js';
import { writeChain } from '../../testing/models.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { startServer, type RunningServer } from '../server.js';
import { lookupUser, parseInstanceUsers, userFor } from './user.js';

const NOBODY = lookupUser('nobody');

describe('instance users', () => {
  test('users resolve by name or id; a tenant user keeps the default group', () => {
    assert.deepEqual(lookupUser('0'), { uid: 0, gid: 0 });
    assert.deepEqual(lookupUser('1234:5678'), { uid: 1234, gid: 5678 });
    const users = parseInstanceUsers(['alice=1234:99', 'nobody'], 'root');
    assert.deepEqual(users.default, NOBODY);
    assert.deepEqual(users.tenants, { alice: { uid: 1234, gid: NOBODY.gid } });
    assert.deepEqual(userFor(users, 'alice'), { uid: 1234, gid: NOBODY.gid });
    assert.deepEqual(userFor(users, 'bob'), NOBODY);
    assert.equal(userFor(undefined, 'bob'), undefined);
    assert.deepEqual(parseInstanceUsers([], '0').default, { uid: 0, gid: 0 });
    assert.throws(
      () => lookupUser('no-such-user-here'),
      (e: TensorshareError) => e.code === 'ERR_INVALID_ARGUMENT' && /does not exist/.test(e.message),
    );
    assert.throws(() => parseInstanceUsers(['a', 'b'], 'nobody'), /one default user/);
    assert.throws(() => parseInstanceUsers(['=x'], 'nobody'), /tenant=\]user/);
  });

  test('instance users need a daemon', async () => {
    const roots = await tempRoots('ts-users');
    try {
      await assert.rejects(
        startServer({
          functionsDir: roots.dir,
          repository: roots.repository,
          store: roots.store,
          daemon: 'off',
          httpPort: 0,
          grpcPort: false,
          instanceUsers: { default: NOBODY, tenants: {} },
          env: testEnv(),
          logger: pino({ level: 'silent' }),
        }),
        /need a daemon/,
      );
    } finally {
      await roots.cleanup();
    }
  });
});

const WRITER = `
import fs from 'node:fs/promises';
export const metadata = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
};
export async function handle(request, ctx) {
  const x = request.inputs.find((t) => t.name === 'x').data;
  const out = await ctx.run({ x: { dtype: 'float32', shape: [1, x.length], data: Float32Array.from(x) } });
  let openError = 'none';
  try {
    const fh = await fs.open(request.parameters.tensor, 'r+');
    await fh.write(Buffer.alloc(8), 0, 8, 0);
    await fh.close();
  } catch (e) {
    openError = e.code;
  }
  return {
    outputs: [{ name: 'y', datatype: 'FP32', shape: [out.y.data.length], data: out.y.data }],
    parameters: { openError, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups().join(',') },
  };
}
`;

describe('serve as root runs instances as an unprivileged user', {
  skip: process.getuid?.() !== 0 ? 'needs root' : false,
}, () => {
  let roots: TempRoots;
  let server: RunningServer | undefined;
  after(async () => {
    await server?.close();
    await roots?.cleanup();
  });

  test('a handler cannot open a store tensor read-write, and still serves', async () => {
    roots = await tempRoots('ts-users');
    await fs.chmod(roots.dir, 0o755); // the instance user reads the function folder
    const width = 128;
    await importModel(roots.repository, await writeChain(path.join(roots.dir, 'src'), 'chain', { width, layers: 2 }), {
      name: 'chain',
    });
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'writer', { model: 'chain', minInstances: 0 }, WRITER);
    server = await startServer({
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      daemon: 'auto',
      httpPort: 0,
      grpcPort: false,
      pollIntervalMs: 0,
      instanceUsers: parseInstanceUsers([], 'nobody'),
      env: testEnv(),
      logger: pino({ level: 'warn' }, pino.destination(2)),
    });
    assert.equal(server.daemon.mode, 'owned');
    const sock = await fs.stat(server.daemon.socket);
    assert.equal(sock.gid, NOBODY.gid, "the socket belongs to the instances' group");
    assert.equal(sock.mode & 0o777, 0o660);

    const tensors = layout(roots.store).tensors;
    const [name] = await fs.readdir(tensors);
    assert.ok(name, 'deploy made the model resident');
    const tensor = path.join(tensors, name);
    const before = createHash('sha256')
      .update(await fs.readFile(tensor))
      .digest('hex');
    // Control: this process (root) may open it read-write, so the refusal below is the instance user's.
    await (await fs.open(tensor, 'r+')).close();

    const res = await fetch(`${server.gateway.httpUrl}/v2/models/writer/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [width], data: Array.from({ length: width }, (_, i) => i / width) },
        ],
        parameters: { tensor },
      }),
    });
    const body = (await res.json()) as {
      outputs?: { data: number[] }[];
      parameters?: Record<string, unknown>;
      error?: string;
    };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(
      body.outputs![0]!.data.length,
      width,
      'the model ran: the instance reached the daemon and read the store',
    );
    assert.ok(
      ['EACCES', 'EPERM', 'EROFS'].includes(String(body.parameters!.openError)),
      `open r+ was refused, got ${body.parameters!.openError}`,
    );
    assert.equal(body.parameters!.uid, NOBODY.uid);
    assert.equal(body.parameters!.gid, NOBODY.gid);
    assert.ok(
      !String(body.parameters!.groups).split(',').includes('0'),
      `no root group kept: ${body.parameters!.groups}`,
    );
    assert.equal(
      createHash('sha256')
        .update(await fs.readFile(tensor))
        .digest('hex'),
      before,
      'the tensor is unchanged',
    );
  });
});
