// Two threads write an instance's large JSON text: the pieces they write,
// one after another, are the bytes one thread writes (per request of a batch
// too), the JSON response limit still holds, and a worker that is gone costs
// only speed: this thread writes its half.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatBitPatterns } from '../../testing/floats.js';
import type { Tensor } from '../../tensor/index.js';
import { jsonTextParts } from '../protocol/json-text.js';
import { createJsonFormatter } from './json-formatter.js';

const floats = (n: number) => floatBitPatterns(n, 777);

const joined = (parts: Uint8Array[][] | undefined) => parts?.map((p) => Buffer.concat(p).toString());
const oneThread = (t: Tensor, rows?: number[], max = 64 * 2 ** 20) =>
  jsonTextParts(t, rows, max)?.map((b) => b.toString());

test('two threads write the bytes one thread writes, for every numeric datatype and per request of a batch', async () => {
  const f = createJsonFormatter({ parallelMinElements: 1000 });
  try {
    const cases: [Tensor, number[] | undefined][] = [
      [{ name: 'Y', datatype: 'FP32', shape: [1, 40, 6625], data: floats(40 * 6625) }, undefined],
      [{ name: 'D', datatype: 'FP64', shape: [3, 5000], data: new Float64Array(floats(30_000).buffer) }, [2, 1]],
      [{ name: 'I', datatype: 'INT32', shape: [6, 1000], data: new Int32Array(floats(6000).buffer) }, [1, 3, 2]],
      [{ name: 'U', datatype: 'UINT8', shape: [9000], data: new Uint8Array(floats(2250).buffer) }, undefined],
      // Not split (64-bit integers, BOOL): one thread writes them whole.
      [
        {
          name: 'L',
          datatype: 'INT64',
          shape: [5000],
          data: BigInt64Array.from({ length: 5000 }, (_, i) => BigInt(i) - 2n ** 62n),
        },
        undefined,
      ],
    ];
    for (const [t, rows] of cases) {
      const parts = await f.parts(t, rows, 64 * 2 ** 20);
      assert.deepEqual(joined(parts), oneThread(t, rows), t.name);
      if (!rows) assert.equal(parts![0]!.length, t.datatype === 'INT64' ? 1 : 2, `${t.name}: pieces`);
    }
  } finally {
    f.close();
  }
});

test('text past the limit and small tensors are left to the gateway', async () => {
  const f = createJsonFormatter({ parallelMinElements: 1000 });
  try {
    const big: Tensor = { name: 'B', datatype: 'FP32', shape: [10_000], data: floats(10_000) };
    const length = oneThread(big)![0]!.length;
    assert.equal(await f.parts(big, undefined, length - 1), undefined);
    assert.deepEqual(joined(await f.parts(big, undefined, length)), oneThread(big));
    const small: Tensor = { name: 'S', datatype: 'FP32', shape: [10], data: floats(10) };
    assert.equal(await f.parts(small, undefined, 2 ** 20), undefined);
  } finally {
    f.close();
  }
});

test('a worker closed while it formats leaves its half to this thread: the text is whole', async () => {
  const f = createJsonFormatter({ parallelMinElements: 1000 });
  const t: Tensor = { name: 'Y', datatype: 'FP32', shape: [200_000], data: floats(200_000) };
  const pending = f.parts(t, undefined, 64 * 2 ** 20);
  f.close();
  assert.deepEqual(joined(await pending), oneThread(t));
  // And it starts a new worker for the next output.
  assert.deepEqual(joined(await f.parts(t, undefined, 64 * 2 ** 20)), oneThread(t));
  f.close();
});
