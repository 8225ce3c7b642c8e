import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteUnit, formatBytes } from './bytes.js';

test('sizes print in binary units with about three significant digits', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(1536 * 2 ** 20), '1.5 GiB');
  assert.equal(formatBytes(436 * 2 ** 20 + 12345), '436 MiB');
  assert.equal(formatBytes(12.34 * 2 ** 20), '12.3 MiB');
  assert.equal(formatBytes(1.234 * 2 ** 40), '1.23 TiB');
  assert.equal(formatBytes(-3 * 2 ** 20), '-3 MiB');
  assert.deepEqual(byteUnit(900 * 2 ** 20), { div: 2 ** 20, suffix: 'MiB' });
  assert.equal(formatBytes(0, 'MiB'), '0 MiB');
  assert.equal(formatBytes(64 * 2 ** 20, 'MiB'), '64 MiB');
  assert.equal(formatBytes(3 * 2 ** 30, 'MiB'), '3072 MiB');
  assert.equal(formatBytes(100, 'B'), '100 B');
});
