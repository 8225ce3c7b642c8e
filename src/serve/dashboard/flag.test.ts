// `--dashboard [HOST:]PORT`: loopback unless a host is named; bad values name the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDashboardFlag } from './index.js';

test('--dashboard takes PORT, HOST:PORT and [IPv6]:PORT, loopback by default', () => {
  assert.deepEqual(parseDashboardFlag('8080'), { port: 8080 });
  assert.deepEqual(parseDashboardFlag('0'), { port: 0 });
  assert.deepEqual(parseDashboardFlag('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseDashboardFlag('localhost:1'), { host: 'localhost', port: 1 });
  assert.deepEqual(parseDashboardFlag('[::1]:8080'), { host: '::1', port: 8080 });
});

test('--dashboard refuses what is not a port, naming the flag', () => {
  for (const bad of ['', 'x', '70000', '-1', '::1:80', 'host:', ':80', '8080:host', '1.5'])
    assert.throws(
      () => parseDashboardFlag(bad),
      (e: any) => e.code === 'ERR_INVALID_ARGUMENT' && /--dashboard must be PORT or HOST:PORT/.test(e.message),
      bad,
    );
});
