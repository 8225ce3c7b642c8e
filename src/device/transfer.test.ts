// The tensor transport of the device tier on real shared memory: a region
// written with pwrite until the process has the mapping FFI loaded (or a
// view was allocated in it), then through its mapping, and read by the peer
// the same way (an untrusted writer's always with pread), ranges checked
// before any byte is touched, and ORT
// writing a resident model's outputs straight into the client's region once
// the request's shape has been seen (preallocated outputs, one copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { writeBatchedMatMul } from '../testing/device.js';
import { testEnv } from '../testing/env.js';
import { fakeDevice } from './memory.js';
import { workerSessions } from './ort-session.js';
import { loadResident, type ResidentModel } from './resident-model.js';
import {
  createRegion,
  openOutputRegion,
  openRegion,
  regionFolder,
  regionFolderOwner,
  sweepRegionFolders,
  type HostTensor,
} from './transfer.js';

const u8 = (values: number[]) => Uint8Array.from(values);

test('a region carries tensors to a mapped reader and a pread reader; views from alloc() are placed without a copy', () => {
  const dir = regionFolder('ts-transfer-test');
  const region = createRegion(dir, 'r');
  const mapped = openOutputRegion(region.path);
  const pread = openRegion(region.path);
  try {
    const big = Uint8Array.from({ length: 600 }, (_, i) => i % 251);
    const wire = region.write([
      { name: 'a', type: 'uint8', dims: [10], bytes: big.subarray(300, 310) },
      { name: 'empty', type: 'uint8', dims: [0], bytes: new Uint8Array(0) },
      { name: 'b', type: 'uint8', dims: [3], bytes: big.subarray(7, 10) },
    ]);
    assert.equal(wire[2]!.offset % 64, 0, 'ranges are 64-byte aligned');
    const viaMap = mapped.read(wire);
    const viaPread = pread.read(wire);
    for (const got of [viaMap, viaPread]) {
      assert.deepEqual([...got[0]!.bytes], [...big.subarray(300, 310)]);
      assert.equal(got[1]!.bytes.byteLength, 0);
      assert.deepEqual([...got[2]!.bytes], [7, 8, 9]);
    }

    // The next message: an output allocated in place and handed back by a subarray is not copied again.
    region.reset();
    const out = region.alloc(8);
    out.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const placed = region.place([{ name: 'y', type: 'uint8', dims: [4], bytes: out.subarray(2, 6) }]);
    assert.equal(placed[0]!.offset, 2, 'the view is where alloc() put it (offset 0 after reset), plus its subarray');
    const read = mapped.read(placed)[0]!;
    assert.deepEqual([...read.bytes], [3, 4, 5, 6]);
    out.fill(0);
    assert.deepEqual([...read.bytes], [3, 4, 5, 6], 'a mapped read is a copy the caller keeps');
  } finally {
    region.close();
    mapped.close();
    pread.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const TRANSFER = pathToFileURL(path.resolve('dist/src/device/transfer.js')).href;
const MAPPING = pathToFileURL(path.resolve('dist/src/device/mapping.js')).href;

test('copies cross with pwrite and pread until the process loads the mapping FFI, then through mappings', () => {
  // A fresh process: this one has loaded koffi in the tests above.
  const script = `
    import fs from 'node:fs';
    const { createRegion, openOutputRegion, regionFolder } = await import(${JSON.stringify(TRANSFER)});
    const { bindMappings } = await import(${JSON.stringify(MAPPING)});
    const maps = (file) => fs.readFileSync('/proc/self/maps', 'utf8').split(file).length - 1;
    const dir = regionFolder('ts-transfer-test');
    const inputs = createRegion(dir, 'in');
    const outputs = createRegion(dir, 'out');
    const reader = openOutputRegion(outputs.path);
    const step = (tag) => {
      const w = inputs.write([{ name: 'x', type: 'uint8', dims: [3], bytes: Uint8Array.of(5, 4, tag) }]);
      const o = outputs.write([{ name: 'y', type: 'uint8', dims: [2], bytes: Uint8Array.of(9, tag) }]);
      return {
        input: [...fs.readFileSync(inputs.path).subarray(w[0].offset, w[0].offset + 3)],
        output: [...reader.read(o)[0].bytes],
        koffi: fs.readFileSync('/proc/self/maps', 'utf8').includes('/koffi'),
        maps: [maps(inputs.path), maps(outputs.path)],
      };
    };
    const before = step(1);
    bindMappings();
    const after = step(2);
    outputs.reset();
    const inPlace = outputs.alloc(4);
    inPlace.set([1, 2, 3, 4]);
    const view = reader.view(outputs.place([{ name: 'y', type: 'uint8', dims: [4], bytes: inPlace }]));
    const viewed = [...view.tensors[0].bytes];
    view.done();
    inputs.close(); outputs.close(); reader.close();
    fs.rmSync(dir, { recursive: true, force: true });
    process.stdout.write(JSON.stringify({ before, after, viewed }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: testEnv(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(got.before, { input: [5, 4, 1], output: [9, 1], koffi: false, maps: [0, 0] }, 'pwrite and pread');
  // Each side maps its segment once (the writer shared, the reader private).
  assert.deepEqual(got.after, { input: [5, 4, 2], output: [9, 2], koffi: true, maps: [1, 2] }, 'through mappings');
  assert.deepEqual(got.viewed, [1, 2, 3, 4]);
});

test('ranges outside the segment are refused with INVALID_ARGUMENT, never read', () => {
  const dir = regionFolder('ts-transfer-test');
  const region = createRegion(dir, 'r');
  const mapped = openOutputRegion(region.path);
  const pread = openRegion(region.path);
  try {
    region.write([{ name: 'a', type: 'uint8', dims: [4], bytes: u8([1, 2, 3, 4]) }]);
    const past = { name: 'z', type: 'uint8', dims: [16], offset: 64 * 2 ** 20, length: 16 };
    // The mapping would fault on pages past the file's end: reads and views check the file's size first.
    assert.throws(() => mapped.read([past]), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /tensor z: bad offset or length/,
    });
    assert.throws(() => mapped.view([past]), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /tensor z: bad offset or length/,
    });
    assert.throws(() => pread.read([past]), { code: 'ERR_INVALID_ARGUMENT', message: /region ends before/ });
    assert.throws(() => mapped.read([{ ...past, offset: -1 }]), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => openRegion('/etc/passwd'), { code: 'ERR_INVALID_ARGUMENT', message: /under \/dev\/shm/ });
  } finally {
    region.close();
    mapped.close();
    pread.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const [form, openSession] of [
  ['on the calling thread', undefined],
  ['in a session worker thread (the executor)', workerSessions()],
  // Its thread polls for the next run after each answer (gpuSpinMs): runs it takes so are answered the same.
  ['in a session worker thread that polls for its next run', workerSessions(200)],
] as const)
  test(`a resident model writes the outputs of a shape it has seen straight into the client region, ${form}`, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-transfer-test-'));
    const dir = regionFolder('ts-transfer-test');
    const region = createRegion(dir, 'out');
    const reader = openOutputRegion(region.path);
    let m: ResidentModel | undefined;
    try {
      const model = await writeBatchedMatMul(path.join(tmp, 'mm.onnx'), 4, 3, 5);
      m = await loadResident(
        { ort, device: fakeDevice(0, 2 ** 20), provider: 'cpu', maxBatchSize: 4, onBatch: () => {}, openSession },
        {
          kind: 'load',
          id: 1,
          key: 'mm:1',
          model: 'mm:1',
          graph: model.file,
          tensorsDir: tmp,
          inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
          outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 3] }],
          weightBytes: 48,
        },
      );
      const x = Float32Array.from([0.5, -1, 2, 0.25, 1, 1, -0.5, 3]);
      // A fresh copy per run: a session worker takes the buffer it is given (transferred, not copied).
      const input = (): HostTensor[] => [
        { name: 'x', type: 'float32', dims: [2, 4], bytes: new Uint8Array(x.slice().buffer) },
      ];
      const allocs: number[] = [];
      const place = (bytes: number) => {
        allocs.push(bytes);
        const view = region.alloc(bytes);
        return { bytes: view, address: region.addressOf(view) };
      };
      const runOnce = async () => {
        region.reset();
        const r = await m!.run(input(), undefined, { place });
        const wire = region.place(r.outputs);
        const got = reader.read(wire)[0]!;
        assert.deepEqual(got.dims, [2, 3]);
        const y = new Float32Array(got.bytes.buffer, got.bytes.byteOffset, 6);
        const want = model.reference(x);
        for (let i = 0; i < 6; i++) assert.ok(Math.abs(y[i]! - want[i]!) < 1e-5, `y[${i}] ${y[i]} vs ${want[i]}`);
        return wire[0]!;
      };
      const first = await runOnce();
      assert.deepEqual(
        allocs,
        [],
        'a first shape runs with ORT-allocated outputs (their dimensions are not known yet)',
      );
      assert.equal(first.length, 24, 'copied into the region');
      for (let i = 0; i < 2; i++) {
        const again = await runOnce();
        // In place: the output is the range alloc() gave (offset 0 after reset), not a copy placed after it.
        assert.deepEqual([again.offset, again.length], [0, 24]);
      }
      assert.deepEqual(allocs, [24, 24], 'the same shape again: the 2x3 float32 output is preallocated in the region');
    } finally {
      await m?.release();
      region.close();
      reader.close();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

test("region folders carry their owner's pid; a sweep removes those whose owner is gone, and nothing else", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-region-sweep-'));
  try {
    const own = regionFolder('ts-exec', dir);
    assert.match(path.basename(own), new RegExp(`^ts-exec-${process.pid}-[A-Za-z0-9]+$`));
    assert.equal((fs.statSync(own).mode & 0o777).toString(8), '711');
    assert.equal(regionFolderOwner(path.basename(own), 'ts-exec'), process.pid);
    const made = (name: string) => {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'segment'), 'left behind');
      return name;
    };
    const dead = made('ts-exec-4000001-aB3xYz');
    const live = made('ts-exec-4000002-Qw9eRt');
    const unnamed = made('ts-exec-Zx81Po'); // a folder named before pids were part of the name
    const other = made('ts-client-4000001-Lk2mNb');
    const alive = (pid: number) => pid === 4000002;
    assert.deepEqual(sweepRegionFolders('ts-exec', alive, dir), [path.join(dir, dead)]);
    assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(own), live, other, unnamed].sort());
    assert.equal(regionFolderOwner(unnamed, 'ts-exec'), undefined);
    assert.equal(regionFolderOwner(other, 'ts-exec'), undefined);
    assert.deepEqual(sweepRegionFolders('ts-exec', alive, dir), [], 'a second sweep finds nothing');
    assert.deepEqual(sweepRegionFolders('ts-exec', alive, path.join(dir, 'missing')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
