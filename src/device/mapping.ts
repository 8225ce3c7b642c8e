// Shared mappings of segment files (mmap through koffi, the FFI the device
// tier already loads NVML with), so that ONNX Runtime can write an output
// straight into one (a preallocated output) and a client can read outputs in
// place (views). JavaScript sees the mapping as one ArrayBuffer over external
// memory: it must never be touched after unmap(), so views of it stay inside
// this tier. koffi is required at the first mapping, not with this module:
// an executor's client copies its first tensors with pread and pwrite and
// loads it once it has answered (transfer.ts, device-session.ts), so a fresh
// process's first answer skips its load (10-15 ms).
import { createRequire } from 'node:module';
import type Koffi from 'koffi';
import { TensorshareError } from '../errors.js';

let koffiModule: typeof Koffi | undefined;
const koffi = (): typeof Koffi => (koffiModule ??= createRequire(import.meta.url)('koffi') as typeof Koffi);

export interface Mapping {
  /**
   * A view of `length` bytes at `offset`, for ORT to write an output into.
   * Views are made per tensor: one of the whole mapping would count its size
   * as external memory in V8 and make it collect garbage on every allocation.
   */
  view(offset: number, length: number): Uint8Array;
  /** The address of `offset` in this process: another thread of it can view the same bytes (viewAt). */
  address(offset: number): number;
  /** Copies `src` into the mapping at `offset`. */
  copyIn(offset: number, src: Uint8Array): void;
  /** Copies `dest.byteLength` bytes at `offset` out of the mapping into `dest`. */
  copyOut(offset: number, dest: Uint8Array): void;
  /**
   * A private mapping: drops this process's copies of the pages the range touches (made by writes through a view),
   * so the next read sees the file's bytes again (MADV_DONTNEED). It only ever undoes this process's own writes.
   */
  discard(offset: number, length: number): void;
  unmap(): void;
}

/** Largest mapping: koffi's external ArrayBuffers stop at 4 GiB. */
export const MAX_MAPPING_BYTES = 4 * 2 ** 30;

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_PRIVATE = 2;
const MADV_DONTNEED = 4;
const PAGE = 4096;
// Address space only: tmpfs pages come as the file grows, nothing is committed up front.
const MAP_NORESERVE = 0x4000;
const MAP_FAILED = 2 ** 64 - 1;

interface Libc {
  mmap(addr: null, length: number, prot: number, flags: number, fd: number, offset: number): number | bigint;
  munmap(addr: number, length: number): number;
  memcpyIn(dest: number, src: Uint8Array, n: number): unknown;
  memcpyOut(dest: Uint8Array, src: number, n: number): unknown;
  posix_fallocate(fd: number, offset: number, length: number): number;
  madvise(addr: number, length: number, advice: number): number;
}

let libc: Libc | undefined;

function bind(): Libc {
  if (libc) return libc;
  let lib: ReturnType<typeof Koffi.load>;
  try {
    lib = koffi().load('libc.so.6');
  } catch (e) {
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      'cannot load libc.so.6 to map shared-memory segments (the device tier needs Linux with glibc)',
      { library: 'libc.so.6' },
      { cause: e },
    );
  }
  // Addresses cross as integers (below 2^47 on x86-64 and arm64: exact as numbers); typed arrays as their data.
  libc = {
    mmap: lib.func(
      'uintptr_t mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)',
    ) as Libc['mmap'],
    munmap: lib.func('int munmap(uintptr_t addr, size_t length)') as Libc['munmap'],
    memcpyIn: lib.func('void *memcpy(uintptr_t dest, const void *src, size_t n)') as Libc['memcpyIn'],
    memcpyOut: lib.func('void *memcpy(void *dest, uintptr_t src, size_t n)') as Libc['memcpyOut'],
    posix_fallocate: lib.func('int posix_fallocate(int fd, int64_t offset, int64_t len)') as Libc['posix_fallocate'],
    madvise: lib.func('int madvise(uintptr_t addr, size_t length, int advice)') as Libc['madvise'],
  };
  return libc;
}

/** Loads koffi and libc and declares the calls now, not at the first mapping (device-session.ts says when). */
export function bindMappings(): void {
  bind();
}

/** Whether koffi and libc are loaded: mapping a segment then costs only its mmap call. */
export function mappingsBound(): boolean {
  return libc !== undefined;
}

/**
 * Maps `length` bytes of the open file `fd` (the file may grow into it later): 'shared' writes reach the file,
 * 'read' is read-only, 'private' is readable and writable but writes stay in this process (copy on write), so views
 * can be handed to code that may write into them although the file is opened read-only.
 */
export function mapFile(fd: number, length: number, mode: 'shared' | 'read' | 'private'): Mapping {
  const c = bind();
  const prot = mode === 'read' ? PROT_READ : PROT_READ | PROT_WRITE;
  const got = c.mmap(null, length, prot, (mode === 'private' ? MAP_PRIVATE : MAP_SHARED) | MAP_NORESERVE, fd, 0);
  const base = Number(got);
  if (base === MAP_FAILED || base === 0 || !Number.isSafeInteger(base))
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      `cannot map a shared-memory segment of ${length} bytes (mmap errno ${koffi().errno()})`,
      { length, errno: koffi().errno() },
    );
  let mapped = true;
  const check = (offset: number, n: number) => {
    if (!mapped) throw new TensorshareError('ERR_UNAVAILABLE', 'the shared-memory segment is unmapped');
    if (offset < 0 || offset + n > length) throw new RangeError(`range ${offset}+${n} is outside the mapping`);
  };
  return {
    view(offset, n) {
      check(offset, n);
      return n ? new Uint8Array(koffi().view(base + offset, n)) : new Uint8Array(0);
    },
    address(offset) {
      check(offset, 0);
      return base + offset;
    },
    copyIn(offset, src) {
      check(offset, src.byteLength);
      if (src.byteLength) c.memcpyIn(base + offset, src, src.byteLength);
    },
    copyOut(offset, dest) {
      check(offset, dest.byteLength);
      if (dest.byteLength) c.memcpyOut(dest, base + offset, dest.byteLength);
    },
    discard(offset, n) {
      check(offset, n);
      const from = Math.floor((base + offset) / PAGE) * PAGE;
      const to = Math.ceil((base + offset + n) / PAGE) * PAGE;
      if (to > from) c.madvise(from, to - from, MADV_DONTNEED);
    },
    unmap() {
      if (!mapped) return;
      mapped = false;
      c.munmap(base, length);
    },
  };
}

/**
 * A view of `length` bytes at `address` of a mapping made by another thread
 * of this process (a session worker writing outputs in place). The caller
 * keeps the mapping alive while the view is used.
 */
export function viewAt(address: number, length: number): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  if (!Number.isSafeInteger(address) || address <= 0 || !Number.isSafeInteger(length) || length < 0)
    throw new RangeError(`bad mapped range ${address}+${length}`);
  return new Uint8Array(koffi().view(address, length));
}

/**
 * Grows the file to at least `length` bytes with its pages allocated now: a
 * full tmpfs is an error here (false), not a SIGBUS at the first write into
 * the mapping.
 */
export function reserveFile(fd: number, length: number): boolean {
  return bind().posix_fallocate(fd, 0, length) === 0;
}
