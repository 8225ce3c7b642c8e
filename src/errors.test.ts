// Errors across process and thread boundaries: what toWireError keeps and
// what fromWireError makes of it, including errors of another copy of this
// module (a handler's) and codes this version does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TensorshareError, fromWireError, toWireError } from './errors.js';

test('a TensorshareError crosses with its code and details; anything else as ERR_INTERNAL', () => {
  const back = fromWireError(
    structuredClone(toWireError(new TensorshareError('ERR_MODEL_NOT_FOUND', 'no model m', { model: 'm' }))),
  );
  assert.ok(back instanceof TensorshareError);
  assert.deepEqual([back.code, back.message, back.details], ['ERR_MODEL_NOT_FOUND', 'no model m', { model: 'm' }]);

  // Made by another copy of errors.js: another class, the same name.
  const foreign = Object.assign(new Error('bad input'), {
    name: 'TensorshareError',
    code: 'ERR_INVALID_ARGUMENT',
    details: { field: 'x' },
  });
  assert.deepEqual(toWireError(foreign), {
    code: 'ERR_INVALID_ARGUMENT',
    message: 'bad input',
    details: { field: 'x' },
  });

  assert.deepEqual(toWireError(new RangeError('out of range')), { code: 'ERR_INTERNAL', message: 'out of range' });
  assert.deepEqual(toWireError('a string thrown'), { code: 'ERR_INTERNAL', message: 'a string thrown' });
  // A code from a newer peer: still a TensorshareError, with a code this version knows.
  const unknown = fromWireError({ code: 'ERR_FROM_THE_FUTURE', message: 'new' });
  assert.deepEqual([unknown.code, unknown.message], ['ERR_INTERNAL', 'new']);
});
