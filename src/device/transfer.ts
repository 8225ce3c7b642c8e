// The tensor transport between clients and an executor: shared-memory
// segments (tmpfs files) at ranges each side allocates. Each side writes one
// segment the other only reads: the client's carries inputs, the executor's
// (one per connection) carries outputs; a message names a tensor by offset and
// length, the bytes never enter the socket. The executor lets ONNX Runtime
// write an output straight into its segment (through a shared mapping,
// mapping.ts) and the client copies it out once, so an output costs what it
// costs in a private session. Until this process has loaded the mapping FFI
// (koffi, 10-15 ms of a fresh process), tensors are copied with pwrite and
// pread instead, so a client's first answer does not wait for it; once it is
// loaded, copies go through mappings (3 MiB: 65-75 us against 200-240 us for
// pread, measured here). The executor never maps a client's segment: a
// client that shrank its file would otherwise crash the executor (SIGBUS) for
// every client.
// The executor's clients are not its children, so a segment is opened by name
// first (in a 0711 folder, a random name only the peer is told), then
// unlinked as soon as the peer holds it open: from then on a process that
// dies, SIGKILL included, leaves nothing in /dev/shm.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { SHM_DIR } from '../shm/segment.js';
import { MAX_MAPPING_BYTES, mapFile, mappingsBound, reserveFile, type Mapping } from './mapping.js';

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

/** Ranges start on 64 bytes, so a view of any element type fits. */
const ALIGN = 64;
/** The file grows in steps of this, so a series of growing messages costs few allocations. */
const GROW_BYTES = 2 ** 20;
/** A file larger than this shrinks back when a message used less than a quarter of it. */
const KEEP_BYTES = 16 * 2 ** 20;

const alignUp = (n: number, to: number) => Math.ceil(n / to) * to;

export interface Region {
  readonly path: string;
  /** Starts the next message: the previous one's ranges are free again (one message at a time per region; the peer has read it). */
  reset(): void;
  /** A range of `bytes` for the current message, as a view to write in place (for example an ORT preallocated output). */
  alloc(bytes: number): Uint8Array;
  /** The process address of a view from alloc() (for a session worker to write it in place). */
  addressOf(view: Uint8Array): number;
  /** Where the tensors lie in the segment: views from alloc() as they are, other bytes copied in. */
  place(tensors: readonly HostTensor[]): WireTensor[];
  /** reset() then place(): one message's tensors. */
  write(tensors: readonly HostTensor[]): WireTensor[];
  /** The peer holds the segment open: its name goes, the pages stay until both sides close. */
  unlink(): void;
  /** Unmaps the segment: no view from alloc() may be in use (a run writing into it). */
  close(): void;
}

/** A new segment owned by this process, readable by the peer that is told its name. */
export function createRegion(dir: string, prefix: string): Region {
  const file = path.join(dir, `${prefix}-${randomBytes(12).toString('hex')}`);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
  // Mapped for alloc() (an executor's outputs written in place), or for copies once this process has the FFI loaded.
  let map: Mapping | undefined;
  const mapped = (needed: boolean) => {
    if (!map && (needed || mappingsBound())) map = mapFile(fd, MAX_MAPPING_BYTES, 'shared');
    return map;
  };
  // Bytes with pages allocated for the mapping (a write into a hole of a full tmpfs would be a SIGBUS there).
  let reserved = 0;
  // The file's length as this process grew it (the largest message's end since the last shrink).
  let high = 0;
  let end = 0;
  // The current message's views from alloc(), by their buffer: place() finds them without copying.
  const placed = new Map<ArrayBufferLike, number>();
  let linked = true;
  let closed = false;
  const unlink = () => {
    if (!linked) return;
    linked = false;
    fs.rmSync(file, { force: true });
  };
  const full = (what: string, bytes: number) =>
    new TensorshareError(
      'ERR_RESOURCE_EXHAUSTED',
      `${what} (${bytes} bytes) does not fit the shared-memory segment: ${path.dirname(dir)} (tmpfs) is full`,
      { bytes },
    );
  const take = (bytes: number, what: string): number => {
    if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'the shared-memory segment is closed');
    const offset = alignUp(end, ALIGN);
    const need = offset + bytes;
    if (need > MAX_MAPPING_BYTES)
      throw new TensorshareError(
        'ERR_RESOURCE_EXHAUSTED',
        `${what} (${bytes} bytes) does not fit the shared-memory segment (at most ${MAX_MAPPING_BYTES} bytes per message)`,
        { bytes },
      );
    if (map && need > reserved) {
      const to = Math.min(MAX_MAPPING_BYTES, alignUp(need, GROW_BYTES));
      if (!reserveFile(fd, to)) throw full(what, bytes);
      reserved = to;
    }
    end = need;
    high = Math.max(high, need);
    return offset;
  };
  const copyIn = (offset: number, t: HostTensor) => {
    if (map) return map.copyIn(offset, t.bytes);
    // Without a mapping no pages are reserved: a pwrite into a full tmpfs fails (ENOSPC), it never faults.
    try {
      for (let done = 0; done < t.bytes.byteLength; )
        done += fs.writeSync(fd, t.bytes, done, t.bytes.byteLength - done, offset + done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw full(`tensor ${t.name}`, t.bytes.byteLength);
      throw e;
    }
  };
  const place = (tensors: readonly HostTensor[]): WireTensor[] =>
    tensors.map((t) => {
      const length = t.bytes.byteLength;
      if (length === 0) return { name: t.name, type: t.type, dims: t.dims, offset: 0, length: 0 };
      const at = placed.get(t.bytes.buffer);
      if (at !== undefined)
        return { name: t.name, type: t.type, dims: t.dims, offset: at + t.bytes.byteOffset, length };
      mapped(false);
      const offset = take(length, `tensor ${t.name}`);
      copyIn(offset, t);
      return { name: t.name, type: t.type, dims: t.dims, offset, length };
    });
  const reset = () => {
    if (high > KEEP_BYTES && end < high / 4) {
      fs.ftruncateSync(fd, 0);
      reserved = 0;
      high = 0;
    }
    end = 0;
    placed.clear();
  };
  return {
    path: file,
    reset,
    alloc(bytes) {
      const m = mapped(true)!;
      const offset = take(bytes, 'an output');
      const v = m.view(offset, bytes);
      if (bytes) placed.set(v.buffer, offset);
      return v;
    },
    addressOf(view) {
      const at = placed.get(view.buffer);
      if (at === undefined || !map) throw new RangeError('not a view from alloc() of this message');
      return map.address(at + view.byteOffset);
    },
    place,
    write(tensors) {
      reset();
      return place(tensors);
    },
    unlink,
    close() {
      if (closed) return;
      closed = true;
      unlink();
      map?.unmap();
      fs.closeSync(fd);
    },
  };
}

export interface RegionReader {
  /** The tensors' bytes, read out of the segment. */
  read(tensors: readonly WireTensor[]): HostTensor[];
  close(): void;
}

export interface OutputReader extends RegionReader {
  /** read() into buffers from `alloc` (at least the asked bytes long, e.g. recycled ones); default fresh ones. */
  read(tensors: readonly WireTensor[], alloc?: (bytes: number) => Uint8Array): HostTensor[];
  /**
   * The tensors as views of the segment mapped into this process, no copy (the mapping is made at the first call):
   * valid while the peer does not write those ranges again (the caller sends no request on this connection until it
   * calls `done`). Writes into them stay in this process; `done` drops them, so the next answer is read from the
   * segment's bytes.
   */
  view(tensors: readonly WireTensor[]): { tensors: HostTensor[]; done(): void };
}

function checkShm(file: string): void {
  if (!path.isAbsolute(file) || !file.startsWith(`${SHM_DIR}/`) || file.split('/').includes('..'))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `shared-memory region '${file}' must be a file under /dev/shm`);
}

function openShm(file: string): number {
  checkShm(file);
  try {
    return fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `cannot open shared-memory region ${file}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
}

function checkRange(t: WireTensor, limit: number): void {
  if (
    !Number.isSafeInteger(t.offset) ||
    !Number.isSafeInteger(t.length) ||
    t.offset < 0 ||
    t.length < 0 ||
    t.offset + t.length > limit
  )
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `tensor ${t.name}: bad offset or length in the region`);
}

/** Reads a tensor's bytes at its range with pread; a file that ends before them is the peer's error, named. */
function readAt(fd: number, t: WireTensor, bytes: Uint8Array): void {
  for (let done = 0; done < t.length; ) {
    const n = fs.readSync(fd, bytes, done, t.length - done, t.offset + done);
    if (n === 0)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `tensor ${t.name}: the shared-memory region ends before its ${t.length} bytes at ${t.offset}`,
      );
    done += n;
  }
}

/**
 * Opens an untrusted peer's segment (the executor reading a client's inputs)
 * with positional reads into one buffer reused by every message: a read's
 * tensors are valid until the next read (one request at a time per
 * connection, answered before the next is read).
 */
export function openRegion(file: string): RegionReader {
  const fd = openShm(file);
  let scratch = new Uint8Array(0);
  let closed = false;
  return {
    read(tensors) {
      if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'the shared-memory segment is closed');
      let total = 0;
      for (const t of tensors) {
        checkRange(t, MAX_MAPPING_BYTES);
        total = alignUp(total, ALIGN) + t.length;
      }
      if (scratch.byteLength < total)
        scratch = new Uint8Array(Buffer.allocUnsafeSlow(alignUp(total, GROW_BYTES)).buffer);
      let at = 0;
      return tensors.map((t) => {
        at = alignUp(at, ALIGN);
        const bytes = scratch.subarray(at, at + t.length);
        at += t.length;
        readAt(fd, t, bytes);
        return { name: t.name, type: t.type, dims: t.dims, bytes };
      });
    },
    close() {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
    },
  };
}

/** A buffer of its own (8-byte aligned, so any typed array fits), uninitialized: it is written over at once. */
const fresh = (bytes: number) => new Uint8Array(Buffer.allocUnsafeSlow(bytes).buffer, 0, bytes);

/**
 * Opens a trusted peer's segment (a client reading its executor's outputs):
 * read() copies each tensor out once, into a buffer of its own that the
 * caller keeps (8-byte aligned, so any typed array fits), with pread until
 * this process has the mapping FFI loaded, then through a private mapping;
 * view() hands out the mapped bytes themselves (and maps at its first call).
 */
export function openOutputRegion(file: string): OutputReader {
  const fd = openShm(file);
  let map: Mapping | undefined;
  let closed = false;
  const ensureOpen = () => {
    if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'the shared-memory segment is closed');
  };
  // Bytes past the file's end are not backed: reading them through the mapping would be a SIGBUS, so ranges are
  // checked against the file's size first.
  const sizeOf = (tensors: readonly WireTensor[]) => (tensors.some((t) => t.length > 0) ? fs.fstatSync(fd).size : 0);
  return {
    read(tensors, alloc = fresh) {
      ensureOpen();
      if (!map && mappingsBound()) map = mapFile(fd, MAX_MAPPING_BYTES, 'private');
      const m = map;
      const limit = m ? sizeOf(tensors) : MAX_MAPPING_BYTES;
      for (const t of tensors) checkRange(t, limit);
      return tensors.map((t) => {
        const bytes = t.length ? alloc(t.length).subarray(0, t.length) : new Uint8Array(0);
        if (m) m.copyOut(t.offset, bytes);
        else readAt(fd, t, bytes);
        return { name: t.name, type: t.type, dims: t.dims, bytes };
      });
    },
    view(tensors) {
      ensureOpen();
      map ??= mapFile(fd, MAX_MAPPING_BYTES, 'private');
      const mapped = map;
      const size = sizeOf(tensors);
      for (const t of tensors) checkRange(t, size);
      const out = tensors.map((t) => ({
        name: t.name,
        type: t.type,
        dims: t.dims,
        bytes: mapped.view(t.offset, t.length),
      }));
      let once = false;
      return {
        tensors: out,
        done() {
          if (once || closed) return;
          once = true;
          for (const t of tensors) if (t.length) mapped.discard(t.offset, t.length);
        },
      };
    },
    close() {
      if (closed) return;
      closed = true;
      map?.unmap();
      fs.closeSync(fd);
    },
  };
}

/**
 * A private 0711 folder under /dev/shm for this process's segments (names live there only until the peer opens them),
 * named `<prefix>-<pid>-XXXXXX`: a process that finds one whose owner is gone (SIGKILLed before it could remove it)
 * can tell so from the name (regionFolderOwner).
 */
export function regionFolder(prefix: string, dir: string = SHM_DIR): string {
  const made = fs.mkdtempSync(path.join(dir, `${prefix}-${process.pid}-`));
  fs.chmodSync(made, 0o711);
  return made;
}

/**
 * Removes `prefix`'s region folders in `dir` whose owner `alive` says is gone (not this process's; one that cannot be
 * removed, another user's, stays). Returns the paths removed.
 */
export function sweepRegionFolders(prefix: string, alive: (pid: number) => boolean, dir: string = SHM_DIR): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = regionFolderOwner(name, prefix);
    if (pid === undefined || pid === process.pid || alive(pid)) continue;
    const folder = path.join(dir, name);
    try {
      fs.rmSync(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // Not ours to remove.
    }
  }
  return removed;
}

/** The owning pid in the name of one of `prefix`'s region folders; undefined for any other name. */
export function regionFolderOwner(name: string, prefix: string): number | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const m = /^(\d+)-[A-Za-z0-9]+$/.exec(name.slice(prefix.length + 1));
  const pid = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
