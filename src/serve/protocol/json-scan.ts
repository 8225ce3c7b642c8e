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
  let depth = 0;
  let containers = 0;
  let items = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      i = closingQuote(buf, i);
      if (i < 0) return; // unterminated: JSON.parse says so
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
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === COMMA && ++items > maxItems) {
      throw badRequest(
        `request JSON has more than ${maxItems} values; send large tensors with the binary tensor data extension`,
        { limit: maxItems },
      );
    }
  }
}

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
