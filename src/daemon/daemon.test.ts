// The daemon as a real process on a real socket: leases, single flight,
// admission, eviction order per policy, pins, shared tensors, validation,
// permissions, profiling.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import { DaemonClient } from '../client/daemon-client.js';
import { open } from '../client/open.js';
import type { Manifest } from '../store/manifest.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { writeMatMulChain } from '../testing/models.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { compatCorpus } from '../gen/compat-corpus.js';

after(killAll);

const KIB = 1024;

interface Env {
  roots: TempRoots;
  d: DaemonProc;
  c: DaemonClient;
  files: string;
}

async function setup(args: string[] = [], clientName = 'test'): Promise<Env> {
  const roots = await tempRoots();
  const files = path.join(roots.dir, 'src');
  await fs.mkdir(files);
  const d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, ...args]);
  return { roots, d, c: new DaemonClient({ env: {}, socket: d.socket, name: clientName }), files };
}

async function teardown(e: Env | undefined): Promise<void> {
  if (!e) return;
  await e.c.disconnect().catch(() => {});
  await e.d.stop();
  await e.roots.cleanup();
}

/** Imports a one-MatMul model with `kib` KiB of weights unique to `seed`. */
async function importTiny(e: Env, name: string, seed: number, kib = 256): Promise<void> {
  const rows = 128;
  const file = await writeMatMulChain(path.join(e.files, `${name}.onnx`), [
    { rows, cols: (kib * KIB) / 4 / rows, seed },
  ]);
  await e.c.import(file, name);
}

async function residentModels(c: DaemonClient): Promise<string[]> {
  return (await c.stats()).models
    .filter((m) => m.resident)
    .map((m) => m.model.split(':')[0]!)
    .sort();
}

async function touch(c: DaemonClient, ref: string): Promise<void> {
  const l = await c.open(ref);
  await c.close(l.leaseId);
}

const errorOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as Error & { code: string };
  }
  throw new Error('expected a failure');
};

describe('leases, single flight, validation, permissions', () => {
  let e: Env;
  before(async () => {
    e = await setup(['--profile', '/dev/null']);
  });
  after(() => teardown(e));

  test('open returns a lease on resident files; close ends it; stats and list see both', async () => {
    await importTiny(e, 'a', 1);
    const lease = await e.c.open('a');
    assert.equal(lease.model, 'a:1');
    assert.equal(lease.mode, 'fast-open');
    assert.equal(lease.wasResident, false);
    assert.ok(lease.graphPath.startsWith(e.roots.store));
    for (const t of lease.manifest.tensors)
      assert.equal((await fs.stat(path.join(lease.tensorsDir, t.sha256))).mode & 0o777, 0o444);
    let s = await e.c.stats({ includeTensors: true });
    assert.equal(s.totals.leases, 1);
    assert.deepEqual(
      s.leases.map((l) => l.leaseId),
      [lease.leaseId],
    );
    const a = s.models.find((m) => m.model === 'a:1')!;
    assert.equal(a.resident, true);
    assert.equal(a.references, 1);
    assert.ok(
      s.tensors.some((t) => t.sha256 === lease.manifest.tensors[0]!.sha256 && t.references === 1 && t.models === 1),
    );
    const again = await e.c.open('a:1');
    assert.equal(again.wasResident, true);
    await e.c.close(lease.leaseId);
    await e.c.close(again.leaseId);
    s = await e.c.stats();
    assert.equal(s.totals.leases, 0);
    assert.equal(s.models.find((m) => m.model === 'a:1')!.hits, 1);
    const list = await e.c.list();
    assert.deepEqual(
      list.map((m) => [m.model, m.residentModes, m.leases]),
      [['a:1', ['fast-open'], 0]],
    );
  });

  test('concurrent first opens from several clients cause exactly one materialization', async () => {
    await importTiny(e, 'big', 2, 4096);
    const before = (await e.c.stats()).totals.materializations;
    const clients = [
      e.c,
      new DaemonClient({ env: {}, socket: e.d.socket }),
      new DaemonClient({ env: {}, socket: e.d.socket }),
    ];
    const leases = await Promise.all(clients.flatMap((c) => [1, 2, 3, 4].map(() => c.open('big'))));
    const s = await e.c.stats();
    assert.equal(s.totals.materializations - before, 1);
    assert.equal(s.models.find((m) => m.model === 'big:1')!.references, 12);
    assert.equal(e.d.logs.filter((l) => l.msg === 'materialized' && l.model === 'big:1').length, 1);
    assert.equal(new Set(leases.map((l) => l.leaseId)).size, 12);
    assert.equal(s.totals.clients, 3);
    for (const c of clients.slice(1)) await c.disconnect();
    for (const l of leases.filter((x) => e.c.heldLeases().some((h) => h.leaseId === x.leaseId)))
      await e.c.close(l.leaseId);
    await until(async () => (await e.c.stats()).totals.leases === 0, 10_000);
  });

  test('socket and store are not writable by others; tensors are read-only', async () => {
    assert.equal((await fs.stat(e.d.socket)).mode & 0o777, 0o660);
    for (const dir of ['', 'tensors', 'graphs', 'models', 'variants']) {
      const mode = (await fs.stat(path.join(e.roots.store, dir))).mode & 0o777;
      assert.equal(mode & 0o022, 0, `${dir || 'store'} is writable by group or others (${mode.toString(8)})`);
    }
    assert.equal((await fs.stat(path.join(e.roots.store, 'tmp'))).mode & 0o777, 0o700);
    assert.equal((await fs.stat(e.roots.repository)).mode & 0o777, 0o700);
    for (const f of await fs.readdir(path.join(e.roots.store, 'tensors'))) {
      assert.equal((await fs.stat(path.join(e.roots.store, 'tensors', f))).mode & 0o777, 0o444);
    }
  });

  test('a world-writable socket mode is refused at start', async () => {
    const roots = await tempRoots();
    try {
      await assert.rejects(
        spawnDaemon(['--repository', roots.repository, '--store', roots.store, '--socket-mode', '0666']),
        /world-writable/,
      );
    } finally {
      await roots.cleanup();
    }
  });

  test('malformed requests get INVALID_ARGUMENT and the daemon keeps serving', async () => {
    const raw = new grpc.Client(`unix:${e.d.socket}`, grpc.credentials.createInsecure());
    const call = (method: string, body: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        raw.makeUnaryRequest(
          `/tensorshare.daemon.v1.Daemon/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          body,
          (err) => resolve(err),
        );
      });
    for (const [method, body] of [
      ['Open', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['Close', Buffer.from([0x0a, 0xff, 0x01])],
      ['Stats', Buffer.from([0x08, 0x80])],
      ['Open', Buffer.alloc(0)],
    ] as const) {
      const err = await call(method, body);
      assert.equal(
        err?.code,
        grpc.status.INVALID_ARGUMENT,
        `${method} ${body.toString('hex')}: ${err?.code} ${err?.details}`,
      );
    }
    raw.close();
    await e.c.ready();
    const bad = [
      () => e.c.open('../../etc/passwd'),
      () => e.c.open('a', { mode: 'turbo' as 'fast-run' }),
      () => e.c.open(''),
      () => e.c.open('x'.repeat(1000)),
      () => e.c.import('relative/path.onnx', 'x'),
      () => e.c.import('/nonexistent/model.onnx', 'x'),
      () => e.c.import(path.join(e.files, 'a.onnx'), 'bad name!'),
      () => e.c.pin('a', 'nope' as 'fast-run'),
    ];
    for (const p of bad) assert.equal((await errorOf(p())).code, 'ERR_INVALID_ARGUMENT', p.toString());
    const stub = (e.c as unknown as { stub: Record<string, (...a: unknown[]) => void> }).stub;
    const unary = (m: string, req: unknown) =>
      new Promise<grpc.ServiceError | null>((r) => stub[m]!.call(stub, req, (err: grpc.ServiceError | null) => r(err)));
    assert.equal((await unary('close', { leaseId: 'not-a-lease' }))?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await unary('open', { attachmentId: 'zz', model: 'a' }))?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(
      (await unary('open', { attachmentId: 'f'.repeat(32), model: 'a' }))?.code,
      grpc.status.FAILED_PRECONDITION,
    );
    // An Attach whose first message is not a hello.
    const attachErr = await new Promise<grpc.ServiceError>((resolve) => {
      const s = (stub.attach as unknown as () => grpc.ClientDuplexStream<unknown, unknown>).call(stub);
      s.on('error', resolve);
      s.on('data', () => {});
      s.write({});
    });
    assert.equal(attachErr.code, grpc.status.INVALID_ARGUMENT);
    // An Upload that sends a chunk first.
    const uploadErr = await new Promise<grpc.ServiceError | null>((resolve) => {
      const s = (
        stub.upload as unknown as (cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>
      ).call(stub, resolve);
      s.on('error', () => {});
      s.write({ chunk: Buffer.from('abc') });
      s.end();
    });
    assert.equal(uploadErr?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(e.d.proc.exitCode, null);
    assert.ok((await e.c.list()).length >= 1);
  });

  test('Evict refuses a leased model; Pin keeps a model through pressure-free eviction requests', async () => {
    const l = await e.c.open('a');
    const err = await errorOf(e.c.evict('a'));
    assert.equal(err.code, 'ERR_PRECONDITION');
    assert.match(err.message, /in use \(1 lease\)/);
    await e.c.close(l.leaseId);
    await e.c.pin('a');
    assert.equal((await errorOf(e.c.evict('a'))).code, 'ERR_PRECONDITION');
    await e.c.unpin('a');
    const r = await e.c.evict('a');
    assert.equal(r.evicted, 1);
    assert.ok(r.bytesFreed >= 256 * KIB);
    assert.ok(!(await residentModels(e.c)).includes('a'));
    // The repository keeps it: the next open brings it back.
    const back = await e.c.open('a');
    assert.equal(back.wasResident, false);
    await e.c.close(back.leaseId);
    assert.equal((await errorOf(e.c.evict('nonexistent'))).code, 'ERR_MODEL_NOT_FOUND');
  });

  test('fast-run: concurrent opens build the variant once and sessions run on it', async () => {
    const file = await writeMatMulChain(path.join(e.files, 'fr.onnx'), [
      { rows: 64, cols: 256, seed: 7 },
      { rows: 256, cols: 64, seed: 8 },
    ]);
    await e.c.import(file, 'fr');
    const before = (await e.c.stats()).totals.fastRunBuilds;
    const leases = await Promise.all([1, 2, 3].map(() => e.c.open('fr', { mode: 'fast-run' })));
    assert.equal((await e.c.stats()).totals.fastRunBuilds - before, 1);
    assert.ok(leases.every((l) => l.mode === 'fast-run' && l.variant && l.graphPath.includes(l.variant.graph.sha256)));
    const m = await open('fr', { env: {}, client: e.c, mode: 'fast-run' });
    const ort = (await import('onnxruntime-node')).default;
    const out = await m.session.run({ x: new ort.Tensor('float32', new Float32Array(64).fill(1), [1, 64]) });
    assert.deepEqual(out.y!.dims, [1, 64]);
    await m.release();
    for (const l of leases) await e.c.close(l.leaseId);
    assert.ok((await e.c.list()).find((x) => x.model === 'fr:1')!.fastRunBuilt);
  });

  test('fast-run open of a model whose variant is unavailable serves fast-open and says why', async () => {
    const file = path.join(e.files, 'loop.onnx');
    await fs.writeFile(file, compatCorpus().find((x) => x.name === 'control-loop')!.bytes);
    await e.c.import(file, 'loop');
    const l = await e.c.open('loop', { mode: 'fast-run' });
    assert.equal(l.mode, 'fast-open');
    assert.equal(l.variant?.status, 'unavailable');
    assert.match(l.variant!.reason!, /cannot load the variant it saved/);
    await e.c.close(l.leaseId);
    const m = await open('loop', { env: {}, client: e.c, mode: 'fast-run' });
    const ort = (await import('onnxruntime-node')).default;
    const out = await m.session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [4]) });
    assert.deepEqual(out.y!.dims, [4]);
    assert.equal(m.mode, 'fast-open');
    await m.release();
  });

  test('prebuildFastRun builds the variant in the background after a fast-open open', async () => {
    const roots = await tempRoots();
    const d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, '--prebuild-fast-run']);
    const c = new DaemonClient({ env: {}, socket: d.socket });
    try {
      const file = await writeMatMulChain(path.join(roots.dir, 'pb.onnx'), [{ rows: 64, cols: 128, seed: 12 }]);
      await c.import(file, 'pb');
      await touch(c, 'pb');
      await until(async () => (await c.list())[0]!.fastRunBuilt, 20_000);
      const l = await c.open('pb', { mode: 'fast-run' });
      assert.equal((await c.stats()).totals.fastRunBuilds, 1);
      await c.close(l.leaseId);
    } finally {
      await c.disconnect();
      await d.stop();
      await roots.cleanup();
    }
  });

  test('the profile is Chrome trace JSON with open and materialize spans', async () => {
    const roots = await tempRoots();
    const trace = path.join(roots.dir, 'trace.json');
    const d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, '--profile', trace]);
    const c = new DaemonClient({ env: {}, socket: d.socket });
    try {
      const env = { roots, d, c, files: roots.dir } as Env;
      await importTiny(env, 'p', 11, 64);
      await touch(c, 'p');
      // Readable while the daemon runs (the closing bracket is optional in the format)...
      const live = await fs.readFile(trace, 'utf8');
      const events = JSON.parse(live.trimEnd().endsWith(']') ? live : `${live}]`) as { name: string; ph: string }[];
      for (const name of ['open', 'materialize', 'import'])
        assert.ok(
          events.some((ev) => ev.name === name && ev.ph === 'b'),
          `no ${name} span`,
        );
      assert.ok(events.some((ev) => ev.name === 'open' && ev.ph === 'e'));
    } finally {
      await c.disconnect();
      await d.stop();
      // ...and complete JSON after a clean stop.
      assert.ok(Array.isArray(JSON.parse(await fs.readFile(trace, 'utf8'))));
      await roots.cleanup();
    }
  });
});

describe('budget and eviction policies (3 models of 256 KiB, budget for 2)', () => {
  const budget = String(600 * KIB);
  const withPolicy = async (policy: string, extra: string[] = []) => {
    const e = await setup(['--budget', budget, '--policy', policy, ...extra]);
    for (const [n, seed] of [
      ['a', 21],
      ['b', 22],
      ['c', 23],
    ] as const)
      await importTiny(e, n, seed);
    return e;
  };

  test('lru evicts the least recently used', async () => {
    const e = await withPolicy('lru');
    try {
      await touch(e.c, 'a');
      await touch(e.c, 'b');
      await touch(e.c, 'a');
      await touch(e.c, 'c');
      assert.deepEqual(await residentModels(e.c), ['a', 'c']);
      assert.equal((await e.c.stats()).totals.evictions, 1);
    } finally {
      await teardown(e);
    }
  });

  test('lfu evicts the least frequently opened', async () => {
    const e = await withPolicy('lfu');
    try {
      for (let i = 0; i < 3; i++) await touch(e.c, 'a');
      await touch(e.c, 'b');
      await touch(e.c, 'c');
      assert.deepEqual(await residentModels(e.c), ['a', 'c']);
    } finally {
      await teardown(e);
    }
  });

  test('fifo evicts the first loaded, however used', async () => {
    const e = await withPolicy('fifo');
    try {
      await touch(e.c, 'a');
      await touch(e.c, 'b');
      for (let i = 0; i < 3; i++) await touch(e.c, 'a');
      await touch(e.c, 'c');
      assert.deepEqual(await residentModels(e.c), ['b', 'c']);
    } finally {
      await teardown(e);
    }
  });

  test('cost (GreedyDual-Size) evicts only unreferenced models', async () => {
    const e = await withPolicy('cost');
    try {
      const held = await e.c.open('a');
      await touch(e.c, 'b');
      await touch(e.c, 'c');
      assert.deepEqual(await residentModels(e.c), ['a', 'c']);
      assert.ok((await e.c.stats()).models.every((m) => m.priority > 0));
      await e.c.close(held.leaseId);
    } finally {
      await teardown(e);
    }
  });

  test('ttl keeps a released model for its window, then drops it', async () => {
    const e = await withPolicy('ttl', ['--ttl', '600ms', '--reclaim-interval', '100ms']);
    try {
      const t0 = Date.now();
      await touch(e.c, 'a');
      assert.deepEqual(await residentModels(e.c), ['a']);
      await until(async () => (await residentModels(e.c)).length === 0, 5000);
      assert.ok(Date.now() - t0 >= 600, 'evicted before its keep-alive window ended');
    } finally {
      await teardown(e);
    }
  });

  test('eager drops a model as soon as its last lease ends', async () => {
    const e = await withPolicy('eager');
    try {
      const l1 = await e.c.open('a');
      const l2 = await e.c.open('a');
      await e.c.close(l1.leaseId);
      assert.deepEqual(await residentModels(e.c), ['a']);
      await e.c.close(l2.leaseId);
      await until(async () => (await residentModels(e.c)).length === 0, 3000);
    } finally {
      await teardown(e);
    }
  });

  test('never: no eviction; an open that does not fit fails until a model is evicted by hand', async () => {
    const e = await withPolicy('never');
    try {
      await touch(e.c, 'a');
      await touch(e.c, 'b');
      assert.equal((await errorOf(e.c.open('c'))).code, 'ERR_RESOURCE_EXHAUSTED');
      await e.c.evict('a');
      await touch(e.c, 'c');
      assert.deepEqual(await residentModels(e.c), ['b', 'c']);
    } finally {
      await teardown(e);
    }
  });

  test('RESOURCE_EXHAUSTED says how much is needed and how much is free; pinned models stay', async () => {
    const e = await withPolicy('lru');
    try {
      await e.c.pin('a');
      const lb = await e.c.open('b');
      const err = await errorOf(e.c.open('c'));
      assert.equal(err.code, 'ERR_RESOURCE_EXHAUSTED');
      const m = /needs .*\((\d+) bytes\) more but only .*\((\d+) bytes\) is free/.exec(err.message);
      assert.ok(m, err.message);
      const s = await e.c.stats();
      const c = (await e.c.list()).find((x) => x.model === 'c:1')!;
      assert.equal(Number(m[1]), c.bytes);
      assert.equal(Number(m[2]), s.totals.budgetBytes - s.totals.usedBytes);
      // Release b: now c fits by evicting b, never the pinned a (although a is older).
      await e.c.close(lb.leaseId);
      await touch(e.c, 'c');
      assert.deepEqual(await residentModels(e.c), ['a', 'c']);
      assert.equal((await e.c.stats()).models.find((x) => x.model === 'a:1')!.pinned, true);
    } finally {
      await teardown(e);
    }
  });

  test('a tensor shared with a referenced model stays when the other model is evicted', async () => {
    const e = await setup(['--budget', String(2 * 1024 * KIB)]);
    try {
      const shared = { rows: 128, cols: 512, seed: 99 };
      await e.c.import(
        await writeMatMulChain(path.join(e.files, 'd.onnx'), [shared, { rows: 512, cols: 64, seed: 31 }]),
        'd',
      );
      await e.c.import(
        await writeMatMulChain(path.join(e.files, 'f.onnx'), [shared, { rows: 512, cols: 64, seed: 32 }]),
        'f',
      );
      const md = JSON.parse(
        await fs.readFile(path.join(e.roots.repository, 'models', 'd', '1.json'), 'utf8'),
      ) as Manifest;
      const mf = JSON.parse(
        await fs.readFile(path.join(e.roots.repository, 'models', 'f', '1.json'), 'utf8'),
      ) as Manifest;
      assert.equal(md.tensors[0]!.sha256, mf.tensors[0]!.sha256);
      const ld = await e.c.open('d');
      await touch(e.c, 'f');
      const st = (await e.c.stats({ includeTensors: true })).tensors.find((t) => t.sha256 === md.tensors[0]!.sha256)!;
      assert.deepEqual([st.models, st.references], [2, 1]);
      assert.equal((await e.c.stats()).totals.usedBytes < (await e.c.stats()).totals.logicalBytes, true);
      await e.c.evict('f');
      const tensors = await fs.readdir(ld.tensorsDir);
      assert.ok(tensors.includes(md.tensors[0]!.sha256), 'shared tensor was deleted');
      assert.ok(!tensors.includes(mf.tensors[1]!.sha256), "f's own tensor was kept");
      assert.ok(tensors.includes(md.tensors[1]!.sha256));
      await e.c.close(ld.leaseId);
    } finally {
      await teardown(e);
    }
  });
});
