// The tensor transport between clients and an executor: shared-memory
// segments of src/shm (tmpfs files written with pwrite, read with pread at
// ranges the writer allocates). Each side writes one segment the other only
// reads: the client's carries inputs, the executor's (one per connection)
// carries outputs; a message names a tensor by offset and length, the bytes
// never enter the socket. The executor's clients are not its children, so a
// segment is opened by name first (in a 0711 folder, a random name only the
// peer is told), then unlinked as soon as the peer holds it open: from then
// on a process that dies, SIGKILL included, leaves nothing in /dev/shm.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { SHM_DIR, segmentReader, segmentWriter, type Slot } from '../shm/index.js';

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

/** A segment may grow to hold one request's tensors (tmpfs files are sparse; shrunk again when idle). */
const MAX_SEGMENT_BYTES = 8 * 2 ** 30;

export interface Region {
  readonly path: string;
  /** Writes one message's tensors; the previous message's ranges are reused (one request at a time per region). */
  write(tensors: readonly HostTensor[]): WireTensor[];
  /** The peer holds the segment open: its name goes, the pages stay until both sides close. */
  unlink(): void;
  close(): void;
}

/** A new segment owned by this process, readable by the peer that is told its name. */
export function createRegion(dir: string, prefix: string): Region {
  const file = path.join(dir, `${prefix}-${randomBytes(12).toString('hex')}`);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
  const writer = segmentWriter(fd, { maxBytes: MAX_SEGMENT_BYTES });
  let held: Slot[] = [];
  let linked = true;
  const unlink = () => {
    if (!linked) return;
    linked = false;
    fs.rmSync(file, { force: true });
  };
  return {
    path: file,
    write(tensors) {
      for (const s of held) writer.release(s);
      held = [];
      return tensors.map((t) => {
        if (t.bytes.byteLength === 0) return { name: t.name, type: t.type, dims: t.dims, offset: 0, length: 0 };
        const slot = writer.write(t.bytes);
        if (!slot)
          throw new TensorshareError(
            'ERR_RESOURCE_EXHAUSTED',
            `tensor ${t.name} (${t.bytes.byteLength} bytes) does not fit the shared-memory segment (tmpfs full or over ${MAX_SEGMENT_BYTES} bytes)`,
          );
        held.push(slot);
        return { name: t.name, type: t.type, dims: t.dims, offset: slot.offset, length: slot.bytes };
      });
    },
    unlink,
    close() {
      unlink();
      writer.close();
    },
  };
}

export interface RegionReader {
  /** Copies each tensor out of the segment into its own aligned buffer. */
  read(tensors: readonly WireTensor[]): HostTensor[];
  close(): void;
}

/** Opens a peer's segment for reading, by the name it was told. */
export function openRegion(file: string): RegionReader {
  if (!path.isAbsolute(file) || !file.startsWith(`${SHM_DIR}/`) || file.split('/').includes('..'))
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
  const reader = segmentReader(fd);
  return {
    read(tensors) {
      return tensors.map((t) => {
        if (!Number.isSafeInteger(t.offset) || !Number.isSafeInteger(t.length) || t.offset < 0 || t.length < 0)
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `tensor ${t.name}: bad offset or length in the region`);
        const bytes = t.length ? reader.read({ offset: t.offset, bytes: t.length }) : new Uint8Array(0);
        return { name: t.name, type: t.type, dims: t.dims, bytes };
      });
    },
    close: () => reader.close(),
  };
}

/** A private 0711 folder under /dev/shm for this process's segments (names live there only until the peer opens them). */
export function regionFolder(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(SHM_DIR, `${prefix}-`));
  fs.chmodSync(dir, 0o711);
  return dir;
}
