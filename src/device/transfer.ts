// The tensor transport between clients and an executor: shared memory.
// Each side owns a region, a file on tmpfs (/dev/shm) it writes and the other
// side only reads: the client's region carries inputs, the executor's region
// (one per connection) carries outputs. A message names a tensor by offset
// and length in the region; the bytes never enter a socket. Regions live in
// 0711 folders under random names, so only a peer told the name can open one.
//
// This is the one place tensors cross: switching to another transport (a
// mapped ring, src/shm) changes this file only.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';

export interface WireTensor {
  name: string;
  /** onnxruntime-node type name ('float32', 'int64', ...). */
  type: string;
  dims: number[];
  offset: number;
  length: number;
}

export interface HostTensor {
  name: string;
  type: string;
  dims: number[];
  bytes: Uint8Array;
}

const ALIGN = 64;

export interface Region {
  readonly path: string;
  /** Writes the tensors one after another (64-byte aligned) from offset 0; returns where each went. */
  write(tensors: readonly HostTensor[]): WireTensor[];
  close(): void;
}

/** A new region file owned by this process, readable by the peer that is told its name. */
export function createRegion(dir: string, prefix: string): Region {
  const file = path.join(dir, `${prefix}-${randomBytes(12).toString('hex')}`);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
  let closed = false;
  return {
    path: file,
    write(tensors) {
      let at = 0;
      return tensors.map((t) => {
        const offset = at;
        const length = t.bytes.byteLength;
        if (length) fs.writeSync(fd, t.bytes, 0, length, offset);
        at = Math.ceil((offset + length) / ALIGN) * ALIGN;
        return { name: t.name, type: t.type, dims: t.dims, offset, length };
      });
    },
    close() {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
    },
  };
}

export interface RegionReader {
  /** Copies each tensor out of the region into its own 8-byte-aligned buffer. */
  read(tensors: readonly WireTensor[]): HostTensor[];
  close(): void;
}

/** Opens a peer's region for reading. */
export function openRegion(file: string): RegionReader {
  if (!path.isAbsolute(file) || !file.startsWith('/dev/shm/') || file.includes('/../'))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `shared-memory region '${file}' must be a file under /dev/shm`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `cannot open shared-memory region ${file}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  return {
    read(tensors) {
      return tensors.map((t) => {
        if (!Number.isSafeInteger(t.offset) || !Number.isSafeInteger(t.length) || t.offset < 0 || t.length < 0)
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `tensor ${t.name}: bad offset or length in the region`);
        // A fresh ArrayBuffer is aligned for every typed array (Buffer's pool is not).
        const bytes = new Uint8Array(new ArrayBuffer(t.length));
        const got = t.length ? fs.readSync(fd, bytes, 0, t.length, t.offset) : 0;
        if (got !== t.length)
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `tensor ${t.name}: the region holds ${got} of its ${t.length} bytes at offset ${t.offset}`,
          );
        return { name: t.name, type: t.type, dims: t.dims, bytes };
      });
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

/** A private 0711 folder under /dev/shm for this process's regions. */
export function regionFolder(prefix: string): string {
  const dir = fs.mkdtempSync(path.join('/dev/shm', `${prefix}-`));
  fs.chmodSync(dir, 0o711);
  return dir;
}
