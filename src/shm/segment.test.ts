// Segments with real tmpfs files and real processes: bytes round-trip, ranges
// are reused and bounded, and nothing is left in the folder or held open
// after a process that had one is killed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fc from 'fast-check';
import { testEnv } from '../testing/env.js';
import { rangeAllocator } from './allocator.js';
import { createSegmentFile, putTensors, segmentReader, segmentWriter, takeTensors, takeTensorsAsync } from './index.js';
import { ASYNC_READ_BYTES } from './tensors.js';

const SEGMENT_JS = new URL('./index.js', import.meta.url).href;

/** Runs `code` (an ES module body) in a node child with `fds` as its fds 3, 4, ...; resolves with its stdout. */
function child(code: string, fds: number[] = []): { proc: ReturnType<typeof spawn>; out: Promise<string> } {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: testEnv(),
    stdio: ['ignore', 'pipe', 'inherit', ...fds],
  });
  const out = new Promise<string>((resolve) => {
    let s = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (s += d));
    proc.on('exit', () => resolve(s));
  });
  return { proc, out };
}

describe('shared-memory segments', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync('/dev/shm/ts-shm-test-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a segment file is gone from its folder as soon as it exists', () => {
    const fd = createSegmentFile(dir);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.equal(fs.fstatSync(fd).nlink, 0);
    fs.closeSync(fd);
  });

  test('tensors round-trip bit for bit; small, BYTES and odd-typed data stay inline', () => {
    const w = segmentWriter(createSegmentFile(dir));
    const r = segmentReader(fs.openSync(`/proc/self/fd/${w.fd}`, 'r'));
    const big = new Float32Array(70_000).map((_, i) => Math.fround(Math.sin(i) * 1e-3));
    big[5] = Number.NaN;
    big[6] = -0;
    const ints = new BigInt64Array(5000).map((_, i) => BigInt(i) * -3n);
    const inputs = [
      { name: 'big', datatype: 'FP32' as const, shape: [70_000], data: big },
      { name: 'ints', datatype: 'INT64' as const, shape: [5000], data: ints },
      { name: 'small', datatype: 'FP32' as const, shape: [2], data: new Float32Array([1, 2]) },
      { name: 's', datatype: 'BYTES' as const, shape: [1], data: [new Uint8Array(20_000)] },
      { name: 'odd', datatype: 'FP32' as const, shape: [5000], data: new Float64Array(5000) },
    ];
    const put = putTensors(w, inputs);
    assert.equal(put.slots.length, 2);
    assert.deepEqual(put.tensors[0]!.data, { slot: put.slots[0] });
    assert.equal(put.tensors[2]!.data, inputs[2]!.data);
    assert.equal(put.tensors[3]!.data, inputs[3]!.data);
    assert.equal(put.tensors[4]!.data, inputs[4]!.data);
    const back = takeTensors(r, put.tensors);
    assert.ok(back[0]!.data instanceof Float32Array);
    assert.deepEqual(Buffer.from((back[0]!.data as Float32Array).buffer), Buffer.from(big.buffer));
    assert.deepEqual(back[1]!.data, ints);
    assert.deepEqual(back.slice(2), inputs.slice(2));
    w.close();
    r.close();
  });

  test('read off the event loop: the same bytes as a read in place; a closed segment or a slot past its end is an error', async () => {
    const w = segmentWriter(createSegmentFile(dir));
    const r = segmentReader(fs.openSync(`/proc/self/fd/${w.fd}`, 'r'));
    // One tensor over the thread-pool threshold, one under it: both paths in one call.
    const big = new Float32Array(ASYNC_READ_BYTES / 4 + 1000).map((_, i) => Math.fround(Math.cos(i)));
    const mid = new Int32Array(10_000).map((_, i) => i * 7 - 3);
    const put = putTensors(w, [
      { name: 'big', datatype: 'FP32' as const, shape: [big.length], data: big },
      { name: 'mid', datatype: 'INT32' as const, shape: [mid.length], data: mid },
    ]);
    assert.equal(put.slots.length, 2);
    const [a, b] = await takeTensorsAsync(r, put.tensors);
    assert.deepEqual(Buffer.from((a!.data as Float32Array).buffer), Buffer.from(big.buffer));
    assert.deepEqual(b!.data, mid);
    await assert.rejects(r.readAsync({ offset: w.size, bytes: 16 }), {
      code: 'ERR_INTERNAL',
      message: /segment ends at/,
    });
    // Closed while a read runs on the thread pool: the read still gets its bytes; the descriptor closes after it.
    const reading = r.readAsync(put.slots[0]!);
    r.close();
    assert.doesNotThrow(() => fs.fstatSync(r.fd), 'the descriptor stays open under the read');
    assert.deepEqual(Buffer.from(await reading), Buffer.from(big.buffer));
    assert.throws(() => fs.fstatSync(r.fd), { code: 'EBADF' });
    await assert.rejects(r.readAsync(put.slots[0]!), { code: 'ERR_UNAVAILABLE' });
    w.close();
  });

  test('released ranges are reused, the file never passes its limit and shrinks once empty', () => {
    const w = segmentWriter(createSegmentFile(dir), { maxBytes: 1 << 20, keepBytes: 256 * 1024 });
    const a = w.write(new Uint8Array(600_000))!;
    assert.equal(w.write(new Uint8Array(600_000)), undefined, 'a second one would pass 1 MiB');
    const b = w.write(new Uint8Array(300_000))!;
    assert.ok(b.offset >= a.offset + a.bytes);
    w.release(a);
    const c = w.write(new Uint8Array(500_000))!;
    assert.equal(c.offset, 0, 'the freed range is taken again');
    assert.ok(fs.fstatSync(w.fd).size <= 1 << 20);
    w.release(b);
    w.release(c);
    assert.equal(fs.fstatSync(w.fd).size, 0, 'empty and above keepBytes: truncated');
    const tooBig = putTensors(w, [{ datatype: 'FP32', data: new Float32Array(300_000) }]);
    assert.equal(tooBig.slots.length, 0);
    assert.ok(tooBig.tensors[0]!.data instanceof Float32Array, 'larger than the segment: inline');
    w.close();
  });

  test('ranges never overlap, whatever the order of takes and frees', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 5000 })), { maxLength: 200 }), (ops) => {
        const a = rangeAllocator();
        const live: { offset: number; bytes: number }[] = [];
        for (const [take, n] of ops) {
          if (take || live.length === 0) {
            const offset = a.take(n, 200_000);
            if (offset === undefined) continue;
            assert.equal(offset % 64, 0);
            for (const l of live)
              assert.ok(offset + Math.max(n, 1) <= l.offset || l.offset + Math.max(l.bytes, 1) <= offset);
            live.push({ offset, bytes: n });
          } else {
            const [l] = live.splice(n % live.length, 1);
            a.free(l!.offset, l!.bytes);
          }
        }
        for (const l of live.splice(0)) a.free(l.offset, l.bytes);
        assert.ok(a.empty());
        assert.equal(a.take(10_000, 200_000), 0, 'all free again: one hole from 0');
      }),
    );
  });

  test('another process reads and writes through descriptors it inherited', async () => {
    const toChild = segmentWriter(createSegmentFile(dir));
    const fromChild = segmentReader(createSegmentFile(dir));
    const data = new Float32Array(50_000).map((_, i) => i / 7);
    const slot = toChild.write(data)!;
    const { out } = child(
      `import { segmentReader, segmentWriter } from ${JSON.stringify(SEGMENT_JS)};
       const bytes = segmentReader(3).read(${JSON.stringify(slot)});
       const f = new Float32Array(bytes.buffer).map((x) => x * 2);
       process.stdout.write(JSON.stringify(segmentWriter(4).write(f)));`,
      [toChild.fd, fromChild.fd],
    );
    const back = new Float32Array(fromChild.read(JSON.parse(await out)).buffer);
    assert.deepEqual(
      back,
      data.map((x) => x * 2),
    );
    toChild.close();
    fromChild.close();
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('a process killed while holding segments leaves no file and nothing open here', async () => {
    // The child makes its own segments, fills them and waits to be killed.
    const { proc, out } = child(
      `import { createSegmentFile, segmentWriter } from ${JSON.stringify(SEGMENT_JS)};
       const w = segmentWriter(createSegmentFile(${JSON.stringify(dir)}));
       w.write(new Uint8Array(8 << 20));
       process.stdout.write('filled\\n');
       setInterval(() => {}, 1000);`,
    );
    await new Promise<void>((resolve) => proc.stdout!.once('data', () => resolve()));
    assert.deepEqual(fs.readdirSync(dir), [], 'unlinked while the child still holds it');
    proc.kill('SIGKILL');
    await out;
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
