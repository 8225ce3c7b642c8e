// Protocol-buffer wire format, read forward through a file once.
//
// Import must not hold a whole model in memory (models reach many GB), so we
// walk ModelProto -> GraphProto -> TensorProto at the byte level, streaming
// raw tensor data to a sink and reading only the small structural fields.
// Every byte the caller consumes passes through `onLiteral` exactly once, in
// order; ranges it skips (tensor bytes it copies itself, off this thread)
// do not, and are not read here at all.
import { TensorshareError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const CHUNK = 4 << 20;

/** The part of FileHandle the reader uses; lets it read a Buffer the same way. */
export interface PositionalSource {
  read(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** The bytes from `position` on, up to `length`, without copying (a source held in memory). */
  view?(position: number, length: number): Buffer;
}

/** A source held in memory whose bytes nobody changes: read() copies, view() does not. */
export function memorySource(src: Buffer): PositionalSource & { view(position: number, length: number): Buffer } {
  return {
    ...bufferSource(src),
    view: (position, length) => src.subarray(position, Math.min(src.length, position + length)),
  };
}

export function bufferSource(src: Buffer): PositionalSource {
  return {
    async read(buf, offset, length, position) {
      const n = Math.max(0, Math.min(length, src.length - position));
      src.copy(buf, offset, position, position + n);
      return { bytesRead: n };
    },
  };
}

export class ForwardReader {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0; // file offset of buf[0]
  private filePos = 0; // next file offset to read from disk
  /** Bytes before this offset went to onLiteral (always >= bufStart: what is not yet told is still buffered). */
  private toldTo = 0;
  /** Size of the next read: small after a skip (a tensor's header is short), doubling up to CHUNK while bytes are consumed. */
  private next = 64 << 10;

  /**
   * `onLiteral` gets every byte the caller consumes, in order, except the
   * ranges it skips (which the caller reads itself, e.g. on another thread).
   */
  constructor(
    private readonly fh: PositionalSource,
    readonly size: number,
    private readonly file: string,
    private readonly onLiteral?: (offset: number, chunk: Buffer) => void,
  ) {}

  /** Current logical position (next byte to be consumed). */
  pos = 0;

  /** The next chunk, being read while the caller works on this one (reads overlap the sinks' writes). */
  private ahead?: { pos: number; read: Promise<Buffer> };

  private readAt(pos: number, want: number): Promise<Buffer> {
    // In memory: everything left, as a view (no buffer per read, and no joining of reads).
    if (this.fh.view) return Promise.resolve(this.fh.view(pos, this.size - pos));
    const next = Buffer.allocUnsafe(want);
    return this.fh.read(next, 0, want, pos).then(({ bytesRead }) => next.subarray(0, bytesRead));
  }

  /** Hands the consumed bytes not yet told to onLiteral (before they leave the buffer). */
  private tell(): void {
    if (this.onLiteral && this.pos > this.toldTo)
      this.onLiteral(this.toldTo, this.buf.subarray(this.toldTo - this.bufStart, this.pos - this.bufStart));
    this.toldTo = this.pos;
  }

  /** Ensures at least `min` unconsumed bytes are buffered; buf always covers [bufStart, filePos). */
  private async fill(min: number): Promise<void> {
    while (this.filePos - this.pos < min) {
      if (this.filePos >= this.size) throw this.truncated();
      const want = Math.min(Math.max(this.next, min - (this.filePos - this.pos)), this.size - this.filePos);
      const ahead = this.ahead?.pos === this.filePos ? this.ahead.read : undefined;
      this.ahead = undefined;
      const got = await (ahead ?? this.readAt(this.filePos, want));
      if (got.length === 0) throw this.truncated();
      this.filePos += got.length;
      // Reading ahead pays only in a long run of consumed bytes, not between skipped ranges.
      if (this.next >= CHUNK && this.filePos < this.size) {
        const read = this.readAt(this.filePos, Math.min(CHUNK, this.size - this.filePos));
        read.catch(() => {}); // seen when awaited; never, if the caller stops reading
        this.ahead = { pos: this.filePos, read };
      }
      this.next = Math.min(CHUNK, this.next * 2);
      this.tell();
      const rest = this.buf.subarray(this.pos - this.bufStart);
      this.buf = rest.length === 0 ? got : Buffer.concat([rest, got]);
      this.bufStart = this.pos;
    }
  }

  /**
   * Skips `n` bytes the caller reads itself, returning their file offset; the
   * caller has checked them against the parent's end (length()).
   */
  skip(n: number): number {
    this.tell();
    const at = this.pos;
    this.pos += n;
    this.toldTo = this.pos;
    if (this.pos >= this.filePos) {
      this.buf = Buffer.alloc(0);
      this.bufStart = this.filePos = this.pos;
      this.next = 64 << 10;
    } else this.compact();
    return at;
  }

  /** Hands the last consumed bytes to onLiteral (at the end of the file). */
  flush(): void {
    this.tell();
  }

  private truncated(): TensorshareError {
    return new TensorshareError(
      'ERR_INVALID_MODEL',
      `${this.file}: truncated or malformed ONNX (unexpected end of data at byte ${this.pos} of ${this.size})`,
      { file: this.file },
    );
  }

  malformed(why: string): TensorshareError {
    return new TensorshareError('ERR_INVALID_MODEL', `${this.file}: malformed ONNX at byte ${this.pos}: ${why}`, {
      file: this.file,
    });
  }

  private available(): number {
    return this.filePos - this.pos;
  }

  async varint(): Promise<number> {
    if (this.available() < 10 && this.filePos < this.size) await this.fill(Math.min(10, this.size - this.pos));
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.filePos) throw this.truncated();
      const b = this.buf[this.pos - this.bufStart]!;
      this.pos++;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) throw this.malformed('varint exceeds 2^53');
        return result;
      }
      mul *= 128;
    }
    throw this.malformed('varint longer than 10 bytes');
  }

  /** Reads a field key; returns undefined at `end`. */
  async key(end: number): Promise<{ field: number; wire: number } | undefined> {
    if (this.pos >= end) {
      if (this.pos > end) throw this.malformed('field overruns its parent message');
      return undefined;
    }
    const k = await this.varint();
    const field = Math.floor(k / 8);
    const wire = k & 7;
    if (field === 0) throw this.malformed('field number 0');
    if (wire !== WIRE_VARINT && wire !== WIRE_I64 && wire !== WIRE_LEN && wire !== WIRE_I32) {
      throw this.malformed(`unsupported wire type ${wire}`);
    }
    return { field, wire };
  }

  /** Length of a length-delimited field, checked against the parent's end. */
  async length(end: number): Promise<number> {
    const n = await this.varint();
    if (this.pos + n > end)
      throw this.pos + n > this.size ? this.truncated() : this.malformed('length exceeds parent message');
    return n;
  }

  /** A varint's bytes, uninterpreted (negative int64s take 10 bytes and exceed 2^53). */
  async rawVarint(): Promise<Buffer> {
    if (this.available() < 10 && this.filePos < this.size) await this.fill(Math.min(10, this.size - this.pos));
    const off = this.pos - this.bufStart;
    for (let i = 0; i < 10 && off + i < this.buf.length; i++) {
      if ((this.buf[off + i]! & 0x80) === 0) return this.bytes(i + 1);
    }
    throw this.malformed('varint longer than 10 bytes');
  }

  async bytes(n: number): Promise<Buffer> {
    if (this.available() < n) await this.fill(n);
    const off = this.pos - this.bufStart;
    const out = Buffer.from(this.buf.subarray(off, off + n));
    this.pos += n;
    this.compact();
    return out;
  }

  /** Streams n bytes to `sink` in chunks without holding them all. */
  async pipe(n: number, sink: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.available() === 0) await this.fill(Math.min(CHUNK, left));
      const off = this.pos - this.bufStart;
      const take = Math.min(left, this.available());
      await sink(this.buf.subarray(off, off + take));
      this.pos += take;
      left -= take;
      this.compact();
    }
  }

  async skipValue(wire: number, end: number): Promise<void> {
    switch (wire) {
      case WIRE_VARINT:
        await this.rawVarint();
        return;
      case WIRE_I64:
        await this.pipe(8, () => {});
        return;
      case WIRE_I32:
        await this.pipe(4, () => {});
        return;
      default:
        await this.pipe(await this.length(end), () => {});
    }
  }

  /** Reads one whole field value (after its key) as raw wire bytes, key excluded. */
  async rawValue(wire: number, end: number): Promise<Buffer> {
    switch (wire) {
      case WIRE_VARINT:
        return this.rawVarint();
      case WIRE_I64:
        return this.bytes(8);
      case WIRE_I32:
        return this.bytes(4);
      default: {
        const n = await this.length(end);
        return Buffer.concat([encodeVarint(n), await this.bytes(n)]);
      }
    }
  }

  /** Drops consumed bytes so the buffer stays one chunk large. */
  private compact(): void {
    const consumed = this.pos - this.bufStart;
    if (consumed > CHUNK) {
      this.tell();
      this.buf = this.buf.subarray(consumed);
      this.bufStart = this.pos;
    }
  }
}

/** Encodes a non-negative integer (< 2^53) as a varint. */
export function encodeVarint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

export function encodeKey(field: number, wire: number): Buffer {
  return encodeVarint(field * 8 + wire);
}

/** A length-delimited field: key + length + body. */
export function lenField(field: number, body: Buffer): Buffer {
  return Buffer.concat([encodeKey(field, WIRE_LEN), encodeVarint(body.length), body]);
}

/**
 * Walks a message held in memory; `edit` may replace the body of any
 * length-delimited field (return undefined to keep it). Everything else is
 * copied byte-for-byte, so fields this project does not model survive.
 */
export async function editFields(
  msg: Buffer,
  what: string,
  edit: (field: number, body: Buffer) => Promise<Buffer | undefined> | Buffer | undefined,
): Promise<Buffer> {
  const r = new ForwardReader(bufferSource(msg), msg.length, what);
  const parts: Buffer[] = [];
  for (let k = await r.key(msg.length); k; k = await r.key(msg.length)) {
    if (k.wire === WIRE_LEN) {
      const body = await r.bytes(await r.length(msg.length));
      parts.push(lenField(k.field, (await edit(k.field, body)) ?? body));
    } else {
      parts.push(encodeKey(k.field, k.wire), await r.rawValue(k.wire, msg.length));
    }
  }
  return Buffer.concat(parts);
}
