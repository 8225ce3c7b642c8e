// The identity of a model file's bytes, computed in the split's one pass
// without hashing any byte twice. The file is cut into segments: the payload
// of every main-graph initializer's raw_data of at least RANGE_MIN bytes (a
// tensor, hashed anyway for its content address, by whoever copies it) and
// the runs of bytes between them (hashed here as the reader consumes them).
// The digest is SHA-256 over a fixed header and, for each segment in file
// order, its length (u64 little-endian) and its SHA-256: two files with the
// same digest have the same segments, so the same bytes (short of a SHA-256
// collision). Where the cuts fall depends only on the bytes and RANGE_MIN,
// never on import options, so the same file always gets the same digest.
import { createHash, type Hash } from 'node:crypto';
import { TensorshareError } from '../errors.js';

export const SOURCE_DIGEST = 'tensorshare.source/v1';

/** raw_data payloads from this size are segments of their own (the default external-data threshold). */
export const RANGE_MIN = 1024;

interface Segment {
  offset: number;
  length: number;
  sha256: string | Promise<string>;
}

export class SourceDigest {
  private readonly segments: Segment[] = [];
  private run?: { offset: number; length: number; hash: Hash };

  /** Bytes read in order (contiguous with the previous call unless a range came between). */
  literal(offset: number, chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.run && this.run.offset + this.run.length !== offset) this.closeRun();
    this.run ??= { offset, length: 0, hash: createHash('sha256') };
    this.run.hash.update(chunk);
    this.run.length += chunk.length;
  }

  /** A segment hashed elsewhere (a tensor's bytes, by the sink that copied them). */
  range(offset: number, length: number, sha256: string | Promise<string>): void {
    this.closeRun();
    this.segments.push({ offset, length, sha256 });
  }

  private closeRun(): void {
    const r = this.run;
    if (!r) return;
    this.run = undefined;
    this.segments.push({ offset: r.offset, length: r.length, sha256: r.hash.digest('hex') });
  }

  /** The digest (hex) of a file of `size` bytes; every byte must be covered once. */
  async digest(size: number): Promise<string> {
    this.closeRun();
    const segments = this.segments.sort((a, b) => a.offset - b.offset);
    const h = createHash('sha256').update(`${SOURCE_DIGEST}\n`);
    let at = 0;
    const record = Buffer.alloc(8);
    for (const s of segments) {
      if (s.offset !== at)
        throw new TensorshareError('ERR_INTERNAL', `source digest: bytes ${at}..${s.offset} not covered`);
      record.writeBigUInt64LE(BigInt(s.length));
      h.update(record).update(Buffer.from(await s.sha256, 'hex'));
      at += s.length;
    }
    if (at !== size) throw new TensorshareError('ERR_INTERNAL', `source digest: covers ${at} of ${size} bytes`);
    return h.digest('hex');
  }
}
