// scanJson skips the bytes between structural ones natively; its verdicts must
// be those of reading the text one byte at a time (the reference below), on
// any text: nesting, containers and values counted outside strings only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanJson } from './json-scan.js';
import { seededRandom } from '../../prng.js';

type Limits = Parameters<typeof scanJson>[2];

/** The byte-by-byte scan: what each verdict must be. */
function reference(buf: Buffer, limits: Limits): string {
  const maxItems = limits.maxValues + limits.maxJsonContainers;
  let depth = 0;
  let containers = 0;
  let items = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x22) {
      let j = buf.indexOf(0x22, i + 1);
      while (j !== -1) {
        let slashes = 0;
        for (let k = j - 1; k > i && buf[k] === 0x5c; k--) slashes++;
        if (slashes % 2 === 0) break;
        j = buf.indexOf(0x22, j + 1);
      }
      if (j < 0) return 'ok';
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limits.maxJsonDepth) return 'depth';
      if (++containers > limits.maxJsonContainers) return 'containers';
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && ++items > maxItems) return 'values';
  }
  return 'ok';
}

function verdict(buf: Buffer, limits: Limits): string {
  try {
    scanJson(buf, buf.length, limits);
    return 'ok';
  } catch (e) {
    const m = (e as Error).message;
    return m.includes('nested') ? 'depth' : m.includes('objects and arrays') ? 'containers' : 'values';
  }
}

test('scanJson gives the byte-by-byte verdict on 5,000 random texts', () => {
  const next = seededRandom(12);
  const pick = (n: number) => Math.floor(next() * n);
  const alphabet = ['{', '}', '[', ']', '"', '\\', ',', '1', 'a', ' ', ':'];
  const verdicts = new Set<string>();
  for (let t = 0; t < 5000; t++) {
    const text = Array.from({ length: pick(60) }, () => alphabet[pick(alphabet.length)]).join('');
    const limits = { maxJsonDepth: 1 + pick(4), maxJsonContainers: pick(6), maxValues: pick(8) };
    const buf = Buffer.from(text);
    const expected = reference(buf, limits);
    verdicts.add(expected);
    assert.equal(verdict(buf, limits), expected, `${JSON.stringify(text)} ${JSON.stringify(limits)}`);
  }
  assert.deepEqual([...verdicts].sort(), ['containers', 'depth', 'ok', 'values'], 'every verdict was exercised');
});

test('scanJson: a large flat tensor passes, and its values are counted once the body could pass the limit', () => {
  const body = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'x', data: Array.from({ length: 50_000 }, (_, i) => i) }] }),
  );
  const limits = { maxJsonDepth: 8, maxJsonContainers: 16, maxValues: 1 << 20 };
  assert.equal(verdict(body, limits), 'ok');
  assert.equal(verdict(body, { ...limits, maxValues: 40_000 }), 'values');
  assert.equal(reference(body, { ...limits, maxValues: 40_000 }), 'values');
});
