// The JSON fast paths for numeric tensors give exactly the text the generic
// path gave (Array.from with String per element, `null` for non-finite
// values), for any bit pattern, and that text parses back to the same values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeHttpInferResponse } from './http-codec.js';
import { numbersText } from './json-text.js';

/** What the encoder wrote before the fast path, per element. */
const reference = (values: ArrayLike<number>): string =>
  Array.from(values, (v) => (Number.isFinite(v) ? String(v) : 'null')).join(',');

/** Float32 values of any bit pattern: NaNs, infinities, -0 and subnormals included. */
const anyFloat32 = fc
  .array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 300 })
  .map((bits) => new Float32Array(Uint32Array.from(bits).buffer));
const anyFloat64 = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), {
    maxLength: 200,
  })
  .map((pairs) => new Float64Array(Uint32Array.from(pairs.flat()).buffer));

test('numbersText writes the generic text for float32 and float64 of any bit pattern', () => {
  fc.assert(
    fc.property(anyFloat32, (f) => assert.equal(numbersText(f), reference(f))),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(anyFloat64, (f) => assert.equal(numbersText(f), reference(f))),
    { numRuns: 300 },
  );
  assert.equal(
    numbersText(Float32Array.of(-0, Number.NaN, -Infinity, 1e-45, 3.4028234663852886e38)),
    '0,null,null,1.401298464324817e-45,3.4028234663852886e+38',
  );
});

test('numbersText writes the generic text for every 8-, 16- and 32-bit integer type', () => {
  const ints = fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 200 });
  fc.assert(
    fc.property(ints, (xs) => {
      const bytes = Uint32Array.from(xs).buffer;
      for (const a of [
        new Int8Array(bytes),
        new Uint8Array(bytes),
        new Int16Array(bytes),
        new Uint16Array(bytes),
        new Int32Array(bytes),
        new Uint32Array(bytes),
      ])
        assert.equal(numbersText(a), reference(a));
    }),
  );
});

test('a JSON response of float32 outputs parses back to the same float32 values, across chunk boundaries', async () => {
  const req = { model: 'm', version: undefined, inputs: [], outputs: [], parameters: {} };
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 0, max: 70_000 }),
      async (head, pad) => {
        // Padding pushes `head` across the 65,536-element chunk boundary.
        const data = new Float32Array(pad + head.length);
        data.set(head, pad);
        const out = await encodeHttpInferResponse(
          req as never,
          {},
          [{ name: 'Y', datatype: 'FP32', shape: [data.length], data }],
          () => false,
        );
        const parsed = JSON.parse(Buffer.concat(out.parts).toString()) as { outputs: { data: number[] }[] };
        const back = Float32Array.from(parsed.outputs[0]!.data);
        // Bit for bit, but for -0: JSON has always written it as 0.
        const bits = (f: Float32Array) => Array.from(new Uint32Array(f.map((v) => (v === 0 ? 0 : v)).buffer));
        assert.deepEqual(bits(back), bits(data));
      },
    ),
    { numRuns: 15 },
  );
});
