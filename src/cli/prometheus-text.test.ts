// The exposition parser `top` reads /metrics with, on what prom-client
// itself writes (labels with quotes, backslashes and newlines; histograms),
// and its errors on lines that are not samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { parsePrometheusText, sumBy } from './prometheus-text.js';

test("parses prom-client's own output, label escapes included", async () => {
  const registry = new Registry();
  const c = new Counter({
    name: 't_requests_total',
    help: 'h',
    labelNames: ['function', 'code'],
    registers: [registry],
  });
  const h = new Histogram({
    name: 't_seconds',
    help: 'h',
    labelNames: ['function'],
    buckets: [0.1],
    registers: [registry],
  });
  const odd = 'a "quoted"\\ name\nwith a newline';
  c.inc({ function: 'echo', code: 'OK' }, 3);
  c.inc({ function: 'echo', code: 'ERR' }, 2);
  c.inc({ function: odd, code: 'OK' });
  h.observe({ function: 'echo' }, 0.05);
  h.observe({ function: 'echo' }, 0.25);
  const samples = parsePrometheusText(await registry.metrics());
  assert.deepEqual(Object.fromEntries(sumBy(samples, 't_requests_total', 'function')), { echo: 5, [odd]: 1 });
  assert.deepEqual(Object.fromEntries(sumBy(samples, 't_seconds_count', 'function')), { echo: 2 });
  assert.equal(sumBy(samples, 't_seconds_sum', 'function').get('echo'), 0.3);
  const inf = samples.find((s) => s.name === 't_seconds_bucket' && s.labels.le === '+Inf');
  assert.equal(inf?.value, 2);
});

test('a line that is not a sample is ERR_INVALID_ARGUMENT naming its number', () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(
      () => parsePrometheusText(text),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && re.test(e.message),
    );
  bad('# HELP x y\nx 1\nnot a sample line', /metrics line 3 is not a sample/);
  bad('x{a="1" b} 2', /metrics line 1 has malformed labels/);
  assert.deepEqual(parsePrometheusText('# only comments\n\n'), []);
});
