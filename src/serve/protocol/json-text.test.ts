// JSON text an instance writes (jsonTextParts) is the text the gateway
// writes itself: a response spliced from it has the same bytes, per request
// of a batch too, and the JSON response limit still holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatBitPatterns } from '../../testing/floats.js';
import type { Tensor } from '../../tensor/index.js';
import { encodeHttpInferResponse, responseTooLarge } from './http-codec.js';
import {
  batchJsonTextAsk,
  JSON_TEXT_MIN_ELEMENTS,
  jsonTextParts,
  ownJsonText,
  type WithJsonText,
} from './json-text.js';

const req = { model: 'm', version: undefined, inputs: [], outputs: [], parameters: {} } as never;
const body = async (outputs: WithJsonText<Tensor>[], limit?: number) =>
  Buffer.concat((await encodeHttpInferResponse(req, {}, outputs, () => false, limit)).parts).toString();

const floats = (n: number) => floatBitPatterns(n);

test('a response spliced from instance-written text has the bytes of one the gateway formats', async () => {
  const cases: Tensor[] = [
    { name: 'Y', datatype: 'FP32', shape: [1, 40, 6625], data: floats(40 * 6625) },
    {
      name: 'I',
      datatype: 'INT64',
      shape: [5000],
      data: BigInt64Array.from({ length: 5000 }, (_, i) => -(2n ** 62n) + BigInt(i)),
    },
    { name: 'H', datatype: 'FP16', shape: [4096], data: Uint16Array.from({ length: 4096 }, (_, i) => i * 16) },
  ];
  for (const t of cases) {
    const parts = jsonTextParts(t, undefined, 64 * 2 ** 20);
    assert.ok(parts && parts.length === 1, `${t.name}: one part`);
    assert.equal(await body([{ ...t, jsonText: parts }]), await body([t]), t.name);
  }
});

test('each request of a batch gets the text of its own rows', async () => {
  const rows = [1, 3, 2];
  const t: Tensor = { name: 'Y', datatype: 'FP32', shape: [6, 2000], data: floats(12_000) };
  const parts = jsonTextParts(t, rows, 64 * 2 ** 20)!;
  assert.equal(parts.length, 3);
  let from = 0;
  for (const [k, r] of rows.entries()) {
    const mine: Tensor = {
      ...t,
      shape: [r, 2000],
      data: (t.data as Float32Array).slice(from * 2000, (from + r) * 2000),
    };
    from += r;
    const own = ownJsonText({ ...t, jsonText: parts }, k);
    assert.equal(own.jsonText?.length, 1);
    assert.equal(await body([{ ...mine, jsonText: own.jsonText }]), await body([mine]), `request ${k}`);
  }
  assert.equal(jsonTextParts(t, [1, 2], 64 * 2 ** 20), undefined, 'rows that do not add up: the gateway formats');
  assert.deepEqual(
    batchJsonTextAsk([{ outputs: ['a'], maxBytes: 10 }, undefined, { outputs: ['b', 'a'], maxBytes: 5 }], rows),
    { outputs: ['a', 'b'], rows, maxBytes: 5 },
  );
  assert.equal(batchJsonTextAsk([undefined, undefined], rows), undefined);
});

test('small tensors and text past the limit are left to the gateway, which still refuses the response', async () => {
  const small: Tensor = {
    name: 'S',
    datatype: 'FP32',
    shape: [JSON_TEXT_MIN_ELEMENTS - 1],
    data: floats(JSON_TEXT_MIN_ELEMENTS - 1),
  };
  assert.equal(jsonTextParts(small, undefined, 2 ** 20), undefined);
  const big: Tensor = { name: 'B', datatype: 'FP32', shape: [10_000], data: floats(10_000) };
  // Each element takes more than 2 bytes: the text passes a limit of 2.5 bytes per element.
  assert.equal(jsonTextParts(big, undefined, 25_000), undefined);
  const parts = jsonTextParts(big, undefined, 2 ** 20)!;
  const limit = parts[0]!.length - 1;
  await assert.rejects(body([{ ...big, jsonText: parts }], limit), (e: Error) => {
    assert.equal(e.message, responseTooLarge('the JSON response', limit).message);
    return true;
  });
});
