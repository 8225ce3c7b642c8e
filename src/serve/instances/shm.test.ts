// Tensors between the runtime and real instance processes through shared
// memory (src/shm): large inputs and outputs arrive bit for bit, and an
// instance killed mid-request leaves no segment open in this process.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRuntime, type Runtime } from '../runtime.js';
import { createScheduling, type Scheduling } from '../scheduling.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { pidOf, request, testHandler, writeFunction } from '../../testing/functions.js';
import { until } from '../../testing/until.js';
import type { InferRequest, Tensor } from '../../tensor/index.js';
import { jsonTextParts, type WithJsonText, type WithJsonTextAsk } from '../protocol/json-text.js';
import { createBufferPool } from '../../shm/index.js';

/** Segment files this process holds open (they are unlinked, so only /proc shows them). */
const heldSegments = () =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).includes('tensorshare-shm-');
    } catch {
      return false;
    }
  }).length;

describe('instances: tensors through shared memory', () => {
  let roots: TempRoots;
  let rt: Runtime;
  let sched: Scheduling;
  const readBuffers = createBufferPool();

  before(async () => {
    roots = await tempRoots('ts-serve-shm');
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'twice', { minInstances: 1, maxInstances: 1 }, testHandler());
    rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
      readBuffers,
    });
    sched = createScheduling({ runtime: rt });
    await until(() => rt.list().every((f) => f.instances.ready >= 1), 20_000, 'an instance to be ready');
  });

  after(async () => {
    await sched?.close();
    await rt?.close({ timeoutMs: 5000 });
    await roots?.cleanup();
  });

  test('large inputs and outputs arrive bit for bit, and small ones too', async () => {
    assert.equal(heldSegments(), 2, 'one segment per direction for the one instance');
    const x = Array.from({ length: 300_000 }, (_, i) => Math.fround(Math.sin(i) * 1e3));
    for (const xs of [x, [1.5, -2]]) {
      const r = await sched.infer('twice', request(xs));
      const y = r.outputs.find((o) => o.name === 'y')!.data as Float32Array;
      assert.ok(y instanceof Float32Array);
      assert.deepEqual(
        Array.from(y),
        xs.map((v) => Math.fround(Math.fround(v) * 2)),
      );
      // The round trip to the instance holds its run: transfer = instanceMs - runMs.
      assert.ok(r.timing!.instanceMs! >= r.timing!.runMs!, JSON.stringify(r.timing));
    }
  });

  test('an instance writes the JSON text it is asked for; small outputs are left to the gateway', async () => {
    const x = Array.from({ length: 300_000 }, (_, i) => Math.fround(Math.cos(i) * 1e-3));
    const ask: WithJsonTextAsk<InferRequest> = {
      ...request(x),
      jsonText: { outputs: ['y', 'pid'], maxBytes: 64 * 2 ** 20 },
    };
    for (let round = 0; round < 3; round++) {
      const r = await sched.infer('twice', ask);
      const [y, pid] = ['y', 'pid'].map((n) => r.outputs.find((o) => o.name === n) as WithJsonText<Tensor>);
      const { jsonText: _, ...plain } = y!;
      assert.deepEqual(
        y!.jsonText?.map((b) => Buffer.from(b).toString()),
        jsonTextParts(plain, undefined, 64 * 2 ** 20)!.map(String),
      );
      assert.equal(pid!.jsonText, undefined, 'one element: the gateway formats it');
      // The text was read into a pooled buffer: given back, the next round reads into the same one.
      const text = y!.jsonText![0]!;
      assert.equal(readBuffers.freeBytes(), 0, 'the buffer is lent until given back');
      readBuffers.give(text);
      assert.equal(readBuffers.freeBytes(), text.buffer.byteLength);
      assert.ok(r.timing!.formatMs! > 0 && r.timing!.instanceMs! >= r.timing!.runMs! + r.timing!.formatMs!);
    }
    const plain = await sched.infer('twice', request(x));
    assert.equal((plain.outputs[0] as WithJsonText<Tensor>).jsonText, undefined, 'not asked: not written');
    assert.equal(plain.timing!.formatMs, undefined);
  });

  test('an instance killed while serving closes its segments here; its replacement has its own', async () => {
    const pid = pidOf(await sched.infer('twice', request([1])));
    const held = sched.infer('twice', request(new Array(100_000).fill(1), { sleepMs: 2000 }));
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pid, 'SIGKILL');
    await assert.rejects(held, { code: 'ERR_UNAVAILABLE' });
    await until(
      () => rt.list()[0]!.instances.ready >= 1 && heldSegments() === 2,
      20_000,
      'a replacement instance with two segments',
    );
    const r = await sched.infer('twice', request(new Array(100_000).fill(3)));
    assert.notEqual(pidOf(r), pid);
    assert.deepEqual(new Set(r.outputs.find((o) => o.name === 'y')!.data as Float32Array), new Set([6]));
  });

  test('closing the runtime closes every segment', async () => {
    await sched.close();
    await rt.close({ timeoutMs: 5000 });
    assert.equal(heldSegments(), 0);
  });
});
