import { test } from 'node:test';
import assert from 'node:assert/strict';
import { warmUpHandlers } from './warm-up.js';

test('the warm-up runs the PNG decoder and the OCR pipeline through: the stand-in detection yields one line', async () => {
  // One text region in the stand-in map -> one box -> one recognition: every stage of readText ran.
  assert.equal(await warmUpHandlers(), 1);
});
