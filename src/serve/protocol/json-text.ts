// JSON text of tensor data. The gateway writes it for small outputs; an
// instance writes it for the large outputs it returns (instances run in
// parallel, the gateway's event loop is one), and the gateway splices those
// bytes into the response as they are. Both sides call the same functions, so
// the text is the same wherever it was written.

import { bytesToStrings, halfToNumber, type NumericData, type Tensor } from '../../tensor/index.js';

/** What the gateway asks an instance to write the JSON text of (a field of the request it sends). */
export interface JsonTextAsk {
  /** Outputs the client gets as JSON (not binary). */
  outputs: string[];
  /** Rows (axis 0) of each request of a batch, in order; absent: the run is one request. */
  rows?: number[];
  /** The limit on a JSON response's bytes: text that would pass it is not written (the gateway refuses the response). */
  maxBytes: number;
}

/** A request that may carry a JsonTextAsk. */
export type WithJsonTextAsk<R> = R & { jsonText?: JsonTextAsk };

/**
 * A tensor that may carry the JSON text of its data, written by its
 * instance: the elements comma separated, without brackets, one buffer per
 * request of the batch it came from (after the batch is split, exactly one).
 */
export type WithJsonText<T> = T & { jsonText?: readonly Uint8Array[] };

/** Outputs smaller than this are formatted by the gateway: shipping their text would cost more than writing it. */
export const JSON_TEXT_MIN_ELEMENTS = 4096;

/**
 * Element ranges [from, to) of `t`'s data, one per request of its batch
 * (`rows` as in JsonTextAsk), whose JSON text an instance writes; undefined
 * when the gateway should write it: a small tensor, rows that do not add up
 * to its first dimension, or at least 2 bytes per element past `maxBytes`.
 */
export function jsonTextRanges(
  t: Tensor,
  rows: readonly number[] | undefined,
  maxBytes: number,
): [number, number][] | undefined {
  const n = t.data.length;
  if (n < JSON_TEXT_MIN_ELEMENTS || 2 * n > maxBytes) return undefined;
  const total = rows?.reduce((a, b) => a + b, 0);
  if (rows && (t.shape[0] !== total || !total || n % total !== 0)) return undefined;
  const perRow = rows ? n / total! : n;
  const ranges: [number, number][] = [];
  let from = 0;
  for (const r of rows ?? [1]) {
    ranges.push([from, from + r * perRow]);
    from += r * perRow;
  }
  return ranges;
}

/**
 * The JSON text of `t`'s data per request of its batch, or undefined when the
 * gateway should write it (see jsonTextRanges; also text past `maxBytes`).
 */
export function jsonTextParts(t: Tensor, rows: readonly number[] | undefined, maxBytes: number): Buffer[] | undefined {
  const ranges = jsonTextRanges(t, rows, maxBytes);
  if (!ranges) return undefined;
  const parts: Buffer[] = [];
  let bytes = 0;
  for (const [from, to] of ranges) {
    const text = jsonItemsBytes(t, from, to);
    bytes += text.length;
    if (bytes > maxBytes) return undefined;
    parts.push(text);
  }
  return parts;
}

const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/**
 * `values` as JSON numbers, comma separated: the text `Array.from(values, num).join(',')`
 * gives (shortest round-trip form of each value, `null` for NaN and
 * infinities), through JSON.stringify's native loop over a plain array of
 * doubles instead of one JavaScript call and one string per element (3x faster).
 */
export function numbersText(values: Exclude<NumericData, BigInt64Array | BigUint64Array>): string {
  // Pieces small enough that their arrays and strings die young: old-generation memory stays flat.
  const parts: string[] = [];
  for (let from = 0; from < values.length; from += NUMBERS_PIECE)
    parts.push(JSON.stringify(Array.from(values.subarray(from, from + NUMBERS_PIECE))).slice(1, -1));
  return parts.join(',');
}

const NUMBERS_PIECE = 8192;

/** The longest JSON number a double or a 32-bit integer is written as ("-2.2250738585072014e-308"), and its comma. */
const MAX_NUMBER_BYTES = 25;

/** Datatypes whose JSON text numbersText writes: one-byte characters only, at most MAX_NUMBER_BYTES per element. */
export function isPlainNumeric(datatype: Tensor['datatype']): boolean {
  return !['BYTES', 'BOOL', 'FP16', 'INT64', 'UINT64'].includes(datatype);
}

/**
 * jsonItems(t, from, to) as UTF-8 bytes, after `lead` (a separator) when
 * given. Plain numeric types are written straight into the bytes a piece at a
 * time: no joined string and no second copy (a fifth less time than
 * Buffer.from(jsonItems(...)) for 265,000 floats, measured). Those bytes have
 * an ArrayBuffer of their own, so they can be transferred between threads.
 */
export function jsonItemsBytes(t: Tensor, from: number, to: number, lead = ''): Buffer {
  if (!isPlainNumeric(t.datatype)) return Buffer.from(lead + jsonItems(t, from, to), 'utf8');
  const values = (t.data as Exclude<NumericData, BigInt64Array | BigUint64Array>).subarray(from, to);
  const out = Buffer.allocUnsafeSlow(lead.length + values.length * MAX_NUMBER_BYTES);
  let used = out.write(lead, 0, 'latin1');
  for (let at = 0; at < values.length; at += NUMBERS_PIECE) {
    if (at > 0) out[used++] = 0x2c; // ','
    const piece = JSON.stringify(Array.from(values.subarray(at, at + NUMBERS_PIECE)));
    used += out.write(piece.slice(1, -1), used, 'latin1');
  }
  return out.subarray(0, used);
}

/** JSON text of elements [from, to) of a tensor's data, comma separated; 64-bit integers are written exactly. */
export function jsonItems(t: Tensor, from: number, to: number): string {
  switch (t.datatype) {
    case 'BYTES':
      return bytesToStrings((t.data as (Uint8Array | string)[]).slice(from, to))
        .map((s) => JSON.stringify(s))
        .join(',');
    case 'BOOL':
      return Array.from((t.data as Uint8Array).subarray(from, to), (v) => (v ? 'true' : 'false')).join(',');
    case 'FP16':
      return Array.from((t.data as Uint16Array).subarray(from, to), (h) => num(halfToNumber(h))).join(',');
    case 'INT64':
    case 'UINT64':
      return (t.data as BigInt64Array | BigUint64Array).subarray(from, to).join(',');
    default:
      return numbersText((t.data as Exclude<NumericData, BigInt64Array | BigUint64Array>).subarray(from, to));
  }
}

/** The ask of a batch run: every output any of its requests gets as JSON, per request's `rows`; undefined when none asked. */
export function batchJsonTextAsk(asks: readonly (JsonTextAsk | undefined)[], rows: number[]): JsonTextAsk | undefined {
  const given = asks.filter((a): a is JsonTextAsk => a !== undefined);
  if (given.length === 0) return undefined;
  return {
    outputs: [...new Set(given.flatMap((a) => a.outputs))],
    rows,
    maxBytes: Math.min(...given.map((a) => a.maxBytes)),
  };
}

/** Output `t` of a batch run as request `k` of it gets it: only its own part of the JSON text. */
export function ownJsonText<T extends object>(t: WithJsonText<T>, k: number): WithJsonText<T> {
  const { jsonText, ...rest } = t;
  const own = jsonText?.[k];
  return (own ? { ...rest, jsonText: [own] } : rest) as WithJsonText<T>;
}
