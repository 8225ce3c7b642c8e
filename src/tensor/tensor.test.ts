import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../errors.js';
import { DATATYPES, arrayFor, dataMatches, elementSize, isDatatype } from './datatypes.js';
import { datatypeOf, ortDtypeOf } from './ort.js';
import { ioMetadata } from './request.js';
import { compactTensor, elementCount } from './tensor.js';

test('every datatype has an ORT name and back; storage matches ORT (FP16 as half bits, BOOL as bytes)', () => {
  for (const dt of DATATYPES) assert.equal(datatypeOf(ortDtypeOf(dt)), dt);
  assert.equal(ortDtypeOf('FP16'), 'float16');
  assert.equal(ortDtypeOf('BYTES'), 'string');
  assert.equal(arrayFor('FP16'), Uint16Array);
  assert.equal(arrayFor('BOOL'), Uint8Array);
  assert.equal(arrayFor('INT64'), BigInt64Array);
  assert.deepEqual([elementSize('FP64'), elementSize('BYTES')], [8, 0]);
  assert.ok(dataMatches('FP32', new Float32Array(1)) && !dataMatches('FP32', new Float64Array(1)));
  assert.ok(
    dataMatches('BYTES', ['a']) &&
      dataMatches('BYTES', [new Uint8Array(1)]) &&
      !dataMatches('BYTES', [1] as unknown as string[]),
  );
  assert.ok(isDatatype('UINT64') && !isDatatype('BF16') && !isDatatype('toString'));
});

test('names outside either vocabulary are ERR_UNSUPPORTED_DTYPE, naming the name', () => {
  for (const [fn, name] of [
    [datatypeOf, 'bfloat16'],
    [ortDtypeOf, 'BF16'],
    [datatypeOf, 'constructor'],
    [ortDtypeOf, 'FLOAT'],
  ] as const) {
    assert.throws(
      () => fn(name),
      (e: unknown) => isTensorshareError(e, 'ERR_UNSUPPORTED_DTYPE') && e.message.includes(name),
    );
  }
});

test('ioMetadata: ORT dtype to datatype, symbolic and unknown dims to -1, unknown rank to [-1]', () => {
  assert.deepEqual(ioMetadata({ name: 'ids', dtype: 'int64', shape: ['batch', 128, null, -1] }), {
    name: 'ids',
    datatype: 'INT64',
    shape: [-1, 128, -1, -1],
  });
  assert.deepEqual(ioMetadata({ name: 'x', dtype: 'float32', shape: null }), {
    name: 'x',
    datatype: 'FP32',
    shape: [-1],
  });
});

test('elementCount and compactTensor: views into a larger buffer are copied to own exactly their bytes', () => {
  assert.deepEqual([elementCount([]), elementCount([2, 3]), elementCount([4, 0])], [1, 6, 0]);
  const body = new Float32Array([1, 2, 3, 4]);
  const t = { name: 'x', data: body.subarray(1, 3) };
  const c = compactTensor(t);
  assert.deepEqual([...(c.data as Float32Array)], [2, 3]);
  assert.equal(c.data.buffer.byteLength, 8);
  const whole = { name: 'y', data: new Float32Array(2) };
  assert.equal(compactTensor(whole), whole, 'a tensor that owns its buffer is passed as is');
  const bytes = { name: 's', data: [new Uint8Array([7, 8, 9]).subarray(1), new Uint8Array([1])] };
  const cb = compactTensor(bytes).data;
  assert.deepEqual(
    cb.map((e) => [...e]),
    [[8, 9], [1]],
  );
  assert.deepEqual(
    cb.map((e) => e.buffer.byteLength),
    [2, 1],
  );
});
