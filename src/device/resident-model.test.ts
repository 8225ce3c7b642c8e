// The device queue of one resident model: requests that arrive while a run
// is on the device join the next run (up to the largest batch), each gets
// its own rows back, and bad inputs are refused before they queue. The
// session is a stand-in whose run() waits for the test to let it finish, so
// which requests share a run is decided by the test, not by timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { fakeDevice } from './memory.js';
import type { LoadRequest } from './protocol.js';
import { loadResident } from './resident-model.js';
import type { HostTensor } from './transfer.js';

type Feeds = Record<string, ort.Tensor>;

/** y = 2x, run by run: each run waits until the test calls the gate it pushed. */
function gatedOrt() {
  const runs: { rows: number; done: () => void }[] = [];
  const session = {
    async run(feeds: Feeds) {
      const x = feeds.x!;
      if (runs.length === 0 && x.dims[0] === 8) return { y: x }; // the load's probe run at the largest batch
      await new Promise<void>((done) => runs.push({ rows: x.dims[0]!, done }));
      const data = Float32Array.from(x.data as Float32Array, (v) => v * 2);
      return { y: new ort.Tensor('float32', data, x.dims) };
    },
    async release() {},
  };
  const fake = { InferenceSession: { create: async () => session }, Tensor: ort.Tensor } as unknown as typeof ort;
  return { fake, runs };
}

const req: LoadRequest = {
  kind: 'load',
  id: 1,
  key: 'm:1',
  model: 'm:1',
  graph: '/unused',
  tensorsDir: '/unused',
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 2] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
  weightBytes: 100,
};

const rows = (values: number[]): HostTensor[] => [
  { name: 'x', type: 'float32', dims: [values.length / 2, 2], bytes: new Uint8Array(Float32Array.from(values).buffer) },
];
const valuesOf = (t: HostTensor) =>
  Array.from(new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength / 4));

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !f(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(f(), 'condition not reached');
}

test('requests waiting while the device runs join the next run, up to the largest batch, and get their own rows', async () => {
  const { fake, runs } = gatedOrt();
  const batches: number[] = [];
  const device = fakeDevice(0, 1000);
  const m = await loadResident(
    { ort: fake, device, provider: 'cpu', maxBatchSize: 8, onBatch: (n) => batches.push(n) },
    req,
  );
  assert.equal(m.measured.persistentBytes, 100, 'the fake device booked the weights');
  const first = m.run(rows([1, 2]));
  await until(() => runs.length === 1);
  // While the first run is on the device: three requests of 1, 2 and 1 rows, then one of 6 rows that does not fit.
  const waiting = [
    m.run(rows([3, 4])),
    m.run(rows([5, 6, 7, 8])),
    m.run(rows([9, 10])),
    m.run(rows(Array(12).fill(1))),
  ];
  assert.equal(m.depth(), 5);
  runs[0]!.done();
  assert.deepEqual(valuesOf((await first).outputs[0]!), [2, 4]);
  await until(() => runs.length === 2);
  assert.equal(runs[1]!.rows, 4, 'the three small requests share one run (1 + 2 + 1 rows)');
  runs[1]!.done();
  const [a, b, c] = await Promise.all(waiting.slice(0, 3));
  assert.deepEqual(valuesOf(a!.outputs[0]!), [6, 8]);
  assert.deepEqual(valuesOf(b!.outputs[0]!), [10, 12, 14, 16]);
  assert.deepEqual(valuesOf(c!.outputs[0]!), [18, 20]);
  assert.equal(a!.batch, 3);
  await until(() => runs.length === 3);
  assert.equal(runs[2]!.rows, 6, 'the 6-row request would pass the cap of 8 with the others: it runs next, alone');
  runs[2]!.done();
  assert.equal((await waiting[3]!).batch, 1);
  assert.deepEqual(batches, [1, 3, 1]);
  await m.release();
  assert.equal(device.used(), 0, 'release frees the device booking');
});

test('bad inputs are refused before they queue; an unloaded model fails what waits with UNAVAILABLE', async () => {
  const { fake, runs } = gatedOrt();
  const m = await loadResident(
    { ort: fake, device: fakeDevice(0, 1000), provider: 'cpu', maxBatchSize: 8, onBatch: () => {} },
    req,
  );
  assert.throws(() => m.run([{ name: 'x', type: 'int32', dims: [1, 2], bytes: new Uint8Array(8) }]), {
    code: 'ERR_INVALID_ARGUMENT',
    message: "input 'x' of model m:1 must be float32, got int32",
  });
  assert.throws(() => m.run([{ name: 'x', type: 'float32', dims: [1, 3], bytes: new Uint8Array(12) }]), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.equal(m.depth(), 0);
  const running = m.run(rows([1, 2]));
  await until(() => runs.length === 1);
  const queued = m.run(rows([3, 4]));
  await m.release();
  await assert.rejects(queued, { code: 'ERR_UNAVAILABLE' });
  runs[0]!.done();
  await running.catch(() => {});
});

test('a model that does not fit the fake device fails to load with RESOURCE_EXHAUSTED naming the bytes', async () => {
  const { fake } = gatedOrt();
  await assert.rejects(
    loadResident({ ort: fake, device: fakeDevice(0, 50), provider: 'cpu', maxBatchSize: 8, onBatch: () => {} }, req),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_RESOURCE_EXHAUSTED');
      assert.match(e.message, /loading m:1 onto fake device 0: the device ran out of memory \(50 B free of 50 B\)/);
      return true;
    },
  );
});
