// A pass over JSON text before JSON.parse: counts objects, arrays and values
// and measures nesting, so `{"x":[{},{},...]}` or a 100,000-deep array is
// refused with a message naming the limit instead of being built in memory.
// Syntax is left to JSON.parse; this only has to find structure outside strings.

import type { DecodeLimits } from './limits.js';
import { badRequest } from './status.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/** Throws ERR_INVALID_ARGUMENT when `text[0, end)` nests deeper or holds more than the limits allow. */
export function scanJson(
  text: Uint8Array,
  end: number,
  limits: Pick<DecodeLimits, 'maxJsonDepth' | 'maxJsonContainers' | 'maxValues'>,
): void {
  const buf = Buffer.from(text.buffer, text.byteOffset, Math.min(end, text.byteLength));
  // Elements of `data` are JSON values; names, datatypes and shapes add a few per tensor.
  const maxItems = limits.maxValues + limits.maxJsonContainers;
  // Fewer bytes than the limit hold fewer commas: nothing to count.
  const countCommas = buf.length > maxItems;
  let depth = 0;
  let containers = 0;
  let items = 0;
  // The next position of each structural byte, found with Buffer#indexOf (memchr), so that the
  // numbers of a large tensor are skipped natively instead of looked at one byte at a time in
  // JavaScript (that loop took most of a JSON.parse's time again on a 1 MB body).
  const next = STRUCTURAL.map((c) => buf.indexOf(c, 0));
  let at = 0;
  for (;;) {
    let k = -1;
    let i = buf.length;
    for (let s = 0; s < next.length; s++) {
      const p = next[s]!;
      if (p !== -1 && p < i) {
        i = p;
        k = s;
      }
    }
    if (countCommas) {
      for (let c = buf.indexOf(COMMA, at); c !== -1 && c < i; c = buf.indexOf(COMMA, c + 1)) {
        if (++items > maxItems)
          throw badRequest(
            `request JSON has more than ${maxItems} values; send large tensors with the binary tensor data extension`,
            { limit: maxItems },
          );
      }
    }
    if (k === -1) return;
    const c = STRUCTURAL[k]!;
    if (c === QUOTE) {
      i = closingQuote(buf, i);
      if (i < 0) return; // unterminated: JSON.parse says so
      // Structural bytes inside the string are not structure.
      for (let s = 0; s < next.length; s++)
        if (next[s] !== -1 && next[s]! < i) next[s] = buf.indexOf(STRUCTURAL[s]!, i + 1);
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limits.maxJsonDepth)
        throw badRequest(`request JSON is nested more than ${limits.maxJsonDepth} levels deep`, {
          limit: limits.maxJsonDepth,
        });
      if (++containers > limits.maxJsonContainers) {
        throw badRequest(
          `request JSON has more than ${limits.maxJsonContainers} objects and arrays; send tensor data flat, or binary with the binary tensor data extension`,
          {
            limit: limits.maxJsonContainers,
          },
        );
      }
      next[k] = buf.indexOf(c, i + 1);
    } else {
      depth--;
      next[k] = buf.indexOf(c, i + 1);
    }
    at = i + 1;
  }
}

/** Bytes that open or close a string, object or array. */
const STRUCTURAL = [QUOTE, 0x7b, 0x5b, 0x7d, 0x5d] as const;

/** Index of the quote closing the string opened at `open`, or -1. */
function closingQuote(buf: Buffer, open: number): number {
  let j = buf.indexOf(QUOTE, open + 1);
  while (j !== -1) {
    let backslashes = 0;
    for (let k = j - 1; k > open && buf[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
    j = buf.indexOf(QUOTE, j + 1);
  }
  return -1;
}
