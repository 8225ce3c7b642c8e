// A shared-memory segment for tensor bytes between two processes: a file on
// tmpfs (/dev/shm) that both hold open. One side writes a tensor's bytes at a
// range it allocates, sends only {offset, bytes} in its control message, and
// the other side reads them with one positional read. The file is unlinked as
// soon as it is created, so a process that dies (SIGKILL included) leaves
// nothing behind: the kernel frees the pages when the last descriptor closes.
// The peer receives the descriptor at spawn (child_process stdio) instead of
// a path.
import fs from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { rangeAllocator, type RangeAllocator } from './allocator.js';

/** Where in a segment one tensor's bytes lie. */
export interface Slot {
  offset: number;
  bytes: number;
}

export interface SegmentWriter {
  readonly fd: number;
  /** Bytes of the file now (its high-water mark until it shrinks). */
  readonly size: number;
  /**
   * Copies `data` into the segment (pieces one after another, in one slot);
   * undefined when it would take the file past its limit (send it inline).
   */
  write(data: ArrayBufferView | readonly ArrayBufferView[]): Slot | undefined;
  /** The reader is done with `slot`: its range may be reused. */
  release(slot: Slot): void;
  close(): void;
}

export interface SegmentReader {
  readonly fd: number;
  /** A copy of the bytes at `slot`, in a buffer of their own (8-byte aligned, so any typed array fits). */
  read(slot: Slot): Uint8Array;
  /**
   * The same, read on libuv's thread pool: the event loop stays free while
   * the bytes are copied (a 66 MB read holds it ~110 ms, measured); into
   * `into` (exactly the slot's size) when given.
   */
  readAsync(slot: Slot, into?: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

export interface SegmentOptions {
  /** Largest the file may grow to (default 256 MiB); a tensor that does not fit goes inline. */
  maxBytes?: number;
  /** When every range is free and the file is larger than this, it is truncated back to 0 (default 16 MiB). */
  keepBytes?: number;
}

export const SHM_DIR = '/dev/shm';

let serial = 0;

/**
 * Creates an anonymous segment file in `dir` (a tmpfs folder) and returns its
 * open descriptor: the name is gone before this returns, so it cannot leak.
 */
export function createSegmentFile(dir: string = SHM_DIR): number {
  const file = path.join(dir, `tensorshare-shm-${process.pid}-${serial++}-${Date.now().toString(36)}`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (e) {
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      `cannot create a shared-memory segment in ${dir}: ${(e as Error).message}`,
      { dir },
      { cause: e },
    );
  }
  fs.unlinkSync(file);
  return fd;
}

export function segmentWriter(fd: number, o: SegmentOptions = {}): SegmentWriter {
  const maxBytes = o.maxBytes ?? 256 * 2 ** 20;
  const keepBytes = o.keepBytes ?? 16 * 2 ** 20;
  const ranges: RangeAllocator = rangeAllocator();
  let closed = false;
  return {
    fd,
    get size() {
      return ranges.end;
    },
    write(data) {
      if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'shared-memory segment is closed');
      const pieces = ArrayBuffer.isView(data) ? [data] : data;
      const bytes = pieces.reduce((n, p) => n + p.byteLength, 0);
      const offset = ranges.take(bytes, maxBytes);
      if (offset === undefined) return undefined;
      // Writing past the end grows the tmpfs file; pages come from the same memory as /dev/shm.
      let at = offset;
      try {
        for (const p of pieces) {
          const view = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
          let done = 0;
          while (done < view.length) done += fs.writeSync(fd, view, done, view.length - done, at + done);
          at += view.length;
        }
      } catch (e) {
        ranges.free(offset, bytes);
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return undefined;
        throw e;
      }
      return { offset, bytes };
    },
    release(slot) {
      ranges.free(slot.offset, slot.bytes);
      if (ranges.empty() && ranges.end > keepBytes) {
        fs.ftruncateSync(fd, 0);
        ranges.reset();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
    },
  };
}

export function segmentReader(fd: number): SegmentReader {
  let closed = false;
  // Reads on the thread pool still running: the descriptor closes after them, never under them
  // (a number closed mid-read could be reused by another file before the read runs).
  let reading = 0;
  const closeIfIdle = () => {
    if (closed && reading === 0) fs.closeSync(fd);
  };
  /** Where `slot`'s bytes go: its own ArrayBuffer (offset 0, aligned for any typed array), not zero-filled -- the read overwrites every byte (a 3 MiB read took half the time of one into a zeroed buffer, measured). */
  const target = (slot: Slot): Uint8Array => {
    if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'shared-memory segment is closed');
    return new Uint8Array(Buffer.allocUnsafeSlow(slot.bytes).buffer, 0, slot.bytes);
  };
  const ended = (slot: Slot, done: number) =>
    new TensorshareError(
      'ERR_INTERNAL',
      `shared-memory segment ends at ${slot.offset + done}, before the ${slot.bytes} bytes at ${slot.offset}`,
      { offset: slot.offset, bytes: slot.bytes },
    );
  const readPart = (out: Uint8Array, slot: Slot, done: number) =>
    new Promise<number>((resolve, reject) =>
      fs.read(fd, out, done, slot.bytes - done, slot.offset + done, (e, n) => (e ? reject(e) : resolve(n))),
    );
  return {
    fd,
    read(slot) {
      const out = target(slot);
      let done = 0;
      while (done < slot.bytes) {
        const n = fs.readSync(fd, out, done, slot.bytes - done, slot.offset + done);
        if (n === 0) throw ended(slot, done);
        done += n;
      }
      return out;
    },
    async readAsync(slot, into) {
      if (into && into.length !== slot.bytes)
        throw new TensorshareError('ERR_INTERNAL', `a ${into.length}-byte buffer for a ${slot.bytes}-byte slot`);
      const out = into ?? target(slot);
      reading++;
      try {
        let done = 0;
        while (done < slot.bytes) {
          const n = await readPart(out, slot, done);
          if (n === 0) throw ended(slot, done);
          done += n;
        }
        return out;
      } finally {
        reading--;
        closeIfIdle();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      closeIfIdle();
    },
  };
}
