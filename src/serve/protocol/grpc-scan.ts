// A pass over a ModelInferRequest's protobuf wire format before it is decoded:
// counts repeated entries (inputs, outputs, raw contents, parameters, shape
// dimensions, typed contents elements) and measures names, and refuses the
// message as soon as one passes its limit. protobufjs would otherwise build
// every entry first: 60 MiB of empty `bytes_contents` entries is 31 million
// Buffers. Each input's typed contents are bounded by its own shape, so the
// walk stops one element past what the shape asks for.

import { DECODE_LIMITS, MAX_ELEMENTS, shown, type DecodeLimits } from './limits.js';
import { badRequest } from './status.js';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

interface Field {
  no: number;
  type: number;
  /** Varint value (type 0), else undefined. */
  value: number;
  /** Payload range of LEN fields (and fixed ones). */
  start: number;
  end: number;
}

const malformed = (why: string) => badRequest(`ModelInfer request is not a valid protobuf message: ${why}`);

class WireReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw malformed('varint longer than 10 bytes');
  }
  next(): Field | undefined {
    if (this.pos >= this.end) return undefined;
    const tag = this.varint();
    const no = Math.floor(tag / 8);
    const type = tag % 8;
    if (no === 0) throw malformed('field number 0');
    switch (type) {
      case VARINT:
        return { no, type, value: this.varint(), start: this.pos, end: this.pos };
      case FIXED64:
      case FIXED32: {
        const start = this.pos;
        this.pos += type === FIXED64 ? 8 : 4;
        if (this.pos > this.end) throw malformed('truncated fixed-width field');
        return { no, type, value: 0, start, end: this.pos };
      }
      case LEN: {
        const len = this.varint();
        const start = this.pos;
        if (start + len > this.end) throw malformed(`field ${no} is longer than its message`);
        this.pos = start + len;
        return { no, type, value: 0, start, end: this.pos };
      }
      default:
        throw malformed(`unsupported wire type ${type} (field ${no})`);
    }
  }
}

/** Where a ModelInfer message goes, read without decoding the rest. */
export interface ModelInferTarget {
  model: string;
  version: string | undefined;
}

const utf8 = new TextDecoder();

/**
 * Checks a ModelInferRequest against the limits without building it, and
 * returns the model it names. `shallow`: top-level fields only (their counts
 * and names), which costs nothing whatever the size of the message. Throws ERR_INVALID_ARGUMENT naming the first
 * limit passed, or the malformation found.
 */
export function scanModelInfer(
  buf: Uint8Array,
  limits: DecodeLimits = DECODE_LIMITS,
  opts: { shallow?: boolean } = {},
): ModelInferTarget {
  const r = new WireReader(buf, 0, buf.length);
  const name = (f: Field, what: string): string => {
    if (f.type !== LEN) throw malformed(`${what} is not a string`);
    if (f.end - f.start > limits.maxNameBytes) {
      throw badRequest(
        `${what} '${shown(utf8.decode(buf.subarray(f.start, f.start + 64)))}…' is longer than ${limits.maxNameBytes} bytes`,
        { limit: limits.maxNameBytes },
      );
    }
    return utf8.decode(buf.subarray(f.start, f.end));
  };
  const counts = { inputs: 0, outputs: 0, raw: 0, parameters: 0 };
  const budget = { values: 0, bytesElements: 0 };
  let model = '';
  let version: string | undefined;
  for (let f = r.next(); f; f = r.next()) {
    switch (f.no) {
      case 1:
        model = name(f, 'model_name');
        break;
      case 2:
        version = name(f, 'model_version') || undefined;
        break;
      case 3:
        name(f, 'id');
        break;
      case 4:
        count(counts, 'parameters', limits.maxParameters, 'request parameters');
        if (!opts.shallow) scanParameterEntry(buf, f, limits, name);
        break;
      case 5:
        count(counts, 'inputs', limits.maxTensors, 'inputs');
        if (!opts.shallow) scanInput(buf, f, counts.inputs - 1, limits, budget, name);
        break;
      case 6: {
        count(counts, 'outputs', limits.maxTensors, 'outputs');
        if (opts.shallow) break;
        const o = sub(buf, f, 'outputs');
        let params = 0;
        for (let g = o.next(); g; g = o.next()) {
          if (g.no === 1) name(g, `outputs[${counts.outputs - 1}] name`);
          else if (g.no === 2) {
            if (++params > limits.maxParameters)
              throw badRequest(`outputs[${counts.outputs - 1}] has more than ${limits.maxParameters} parameters`, {
                limit: limits.maxParameters,
              });
            scanParameterEntry(buf, g, limits, name);
          }
        }
        break;
      }
      case 7:
        count(counts, 'raw', limits.maxTensors, 'raw_input_contents entries');
        break;
      default:
        // Unknown fields are skipped by the decoder without allocating; they still may not flood.
        count(counts, 'parameters', limits.maxParameters, 'unknown fields and request parameters');
    }
  }
  return { model, version };
}

function count<K extends string>(counts: Record<K, number>, key: K, limit: number, what: string): void {
  if (++counts[key] > limit) throw badRequest(`ModelInfer request has more than ${limit} ${what}`, { limit });
}

function sub(buf: Uint8Array, f: Field, what: string): WireReader {
  if (f.type !== LEN) throw malformed(`${what} is not a message`);
  return new WireReader(buf, f.start, f.end);
}

function scanParameterEntry(
  buf: Uint8Array,
  f: Field,
  _limits: DecodeLimits,
  name: (f: Field, what: string) => string,
): void {
  const e = sub(buf, f, 'a parameters entry');
  for (let g = e.next(); g; g = e.next()) if (g.no === 1) name(g, 'parameter name');
}

/** Typed-contents field numbers of InferTensorContents, by how their elements are encoded. */
const VARINT_CONTENTS = new Set([1, 2, 3, 4, 5]); // bool, int, int64, uint, uint64
const FIXED32_CONTENTS = 6; // fp32
const FIXED64_CONTENTS = 7; // fp64
const BYTES_CONTENTS = 8;

function scanInput(
  buf: Uint8Array,
  f: Field,
  index: number,
  limits: DecodeLimits,
  budget: { values: number; bytesElements: number },
  name: (f: Field, what: string) => string,
): void {
  const r = sub(buf, f, 'inputs');
  let where = `inputs[${index}]`;
  const shape: number[] = [];
  const contents: Field[] = [];
  let params = 0;
  const dim = (d: number) => {
    if (shape.length >= limits.maxRank)
      throw badRequest(`${where} has more than ${limits.maxRank} dimensions`, { limit: limits.maxRank });
    shape.push(d);
  };
  for (let g = r.next(); g; g = r.next()) {
    if (g.no === 1) where = `input '${shown(name(g, `${where} name`))}'`;
    else if (g.no === 2) name(g, `${where} datatype`);
    else if (g.no === 3) {
      if (g.type === VARINT) dim(g.value);
      else if (g.type === LEN) for (const s = new WireReader(buf, g.start, g.end); s.pos < s.end; ) dim(s.varint());
    } else if (g.no === 4) {
      if (++params > limits.maxParameters)
        throw badRequest(`${where} has more than ${limits.maxParameters} parameters`, { limit: limits.maxParameters });
      scanParameterEntry(buf, g, limits, name);
    } else if (g.no === 5) contents.push(g);
  }
  // Dimensions beyond the limits are refused by validation; here they only bound the walk.
  const declared = Math.min(
    shape.reduce((a, d) => a * d, 1),
    MAX_ELEMENTS,
  );
  let elements = 0;
  const add = (n: number, bytes: boolean) => {
    elements += n;
    if (elements > declared) {
      throw badRequest(
        `${where} has more than ${declared} typed contents elements, its shape [${shape.join(', ')}] needs ${declared}`,
      );
    }
    budget.values += n;
    if (budget.values > limits.maxValues) {
      throw badRequest(
        `ModelInfer request has more than ${limits.maxValues} typed contents elements; send large tensors in raw_input_contents`,
        { limit: limits.maxValues },
      );
    }
    if (bytes) budget.bytesElements += n;
    if (bytes && budget.bytesElements > limits.maxBytesElements) {
      throw badRequest(`ModelInfer request has more than ${limits.maxBytesElements} BYTES elements`, {
        limit: limits.maxBytesElements,
      });
    }
  };
  for (const c of contents) {
    const cr = sub(buf, c, `${where} contents`);
    for (let g = cr.next(); g; g = cr.next()) {
      if (g.no === BYTES_CONTENTS) add(1, true);
      else if (g.type !== LEN)
        add(1, false); // one unpacked scalar
      else if (g.no === FIXED32_CONTENTS) add(Math.ceil((g.end - g.start) / 4), false);
      else if (g.no === FIXED64_CONTENTS) add(Math.ceil((g.end - g.start) / 8), false);
      else if (VARINT_CONTENTS.has(g.no)) {
        const len = g.end - g.start;
        // At most 10 bytes per varint: refuse a segment that must hold too many before counting it.
        add(Math.ceil(len / 10), false);
        let n = 0;
        for (let i = g.start; i < g.end; i++) if (buf[i]! < 0x80) n++;
        add(n - Math.ceil(len / 10), false);
      }
    }
  }
}
