// Reading the gateway's registry: buckets summed over other labels, windows
// as the difference of two reads, quantiles interpolated inside a bucket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { bucketsBy, perBucket, quantile, since, sumBy, total } from './registry-read.js';

test('histogram buckets per function, over protocols, and their quantiles over a window', async () => {
  const registry = new Registry();
  const h = new Histogram({
    name: 'lat',
    help: 'x',
    labelNames: ['function', 'protocol'],
    buckets: [0.01, 0.1, 1],
    registers: [registry],
  });
  for (let i = 0; i < 10; i++) h.observe({ function: 'a', protocol: 'http' }, 0.05);
  for (let i = 0; i < 10; i++) h.observe({ function: 'a', protocol: 'grpc' }, 0.5);
  h.observe({ function: 'b', protocol: 'http' }, 5);
  const first = await bucketsBy(registry, 'lat', 'function');
  const a = first.get('a')!;
  assert.deepEqual(a, { le: [0.01, 0.1, 1, Infinity], counts: [0, 10, 20, 20] });
  assert.equal(total(a), 20);
  // Half are in (0.01, 0.1]: the median is that bucket's upper bound; p75 is halfway into (0.1, 1].
  assert.equal(quantile(0.5, a), 0.1);
  assert.ok(Math.abs(quantile(0.75, a)! - 0.55) < 1e-9, String(quantile(0.75, a)));
  // Past the last finite bound: that bound.
  assert.equal(quantile(0.99, first.get('b')!), 1);
  assert.deepEqual(
    perBucket(a).map((b) => b.count),
    [0, 10, 10, 0],
  );

  for (let i = 0; i < 4; i++) h.observe({ function: 'a', protocol: 'http' }, 0.005);
  const window = since((await bucketsBy(registry, 'lat', 'function')).get('a')!, a);
  assert.deepEqual(window.counts, [4, 4, 4, 4], 'only what was observed after the first read');
  assert.ok(quantile(0.5, window)! <= 0.01);
  assert.equal(quantile(0.5, since(window, window)), null, 'nothing observed: no quantile');
  assert.equal((await bucketsBy(registry, 'missing', 'function')).size, 0);
});

test('counters summed by one label', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 'req', help: 'x', labelNames: ['function', 'code'], registers: [registry] });
  c.inc({ function: 'a', code: 'OK' }, 3);
  c.inc({ function: 'a', code: 'ERR_TIMEOUT' });
  c.inc({ function: 'b', code: 'OK' });
  assert.deepEqual([...(await sumBy(registry, 'req', 'function'))].sort(), [
    ['a', 4],
    ['b', 1],
  ]);
});
