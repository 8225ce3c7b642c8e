// The file-system calls of the import path (onnx/split's reads, store/import,
// staging, layout, manifests, stamps): node:fs/promises, unless the thread
// calls them in place. An import thread (store/import-thread-worker.ts) does:
// it has nothing else to do while a call runs, and each of the ~60 calls of an
// import handed to libuv's pool cost a pool thread's wake-up, an eventfd write
// and an event-loop turn (a thousand functions' first start spent more time
// in those hand-offs than in the calls). Each thread has its own instance of
// this module, so calling in place on one thread changes no other.
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';

type Calls = Pick<
  typeof fsp,
  | 'chmod'
  | 'lstat'
  | 'mkdir'
  | 'open'
  | 'readdir'
  | 'readFile'
  | 'readlink'
  | 'realpath'
  | 'rename'
  | 'rm'
  | 'rmdir'
  | 'stat'
  | 'unlink'
  | 'writeFile'
>;

/** What the import path calls; the functions of node:fs/promises until callInPlace(). */
export const files: Calls = {
  chmod: fsp.chmod,
  lstat: fsp.lstat,
  mkdir: fsp.mkdir,
  open: fsp.open,
  readdir: fsp.readdir,
  readFile: fsp.readFile,
  readlink: fsp.readlink,
  realpath: fsp.realpath,
  rename: fsp.rename,
  rm: fsp.rm,
  rmdir: fsp.rmdir,
  stat: fsp.stat,
  unlink: fsp.unlink,
  writeFile: fsp.writeFile,
};

/**
 * The part of a FileHandle the import path uses, each call made in place. Anything else of a
 * FileHandle is absent: a caller reaching for it fails at once, in the tests of the import thread.
 */
class InPlaceHandle {
  constructor(readonly fd: number) {}
  async read(buffer: NodeJS.ArrayBufferView, offset = 0, length?: number, position: number | null = null) {
    const bytesRead = fs.readSync(this.fd, buffer, offset, length ?? buffer.byteLength - offset, position);
    return { bytesRead, buffer };
  }
  async writev(buffers: NodeJS.ArrayBufferView[], position?: number) {
    return { bytesWritten: fs.writevSync(this.fd, buffers, position), buffers };
  }
  async stat() {
    return fs.fstatSync(this.fd);
  }
  async chmod(mode: number) {
    fs.fchmodSync(this.fd, mode);
  }
  async close() {
    fs.closeSync(this.fd);
  }
}

/** Makes this thread's import-path calls synchronous (see the top of this file). */
export function callInPlace(): void {
  const inPlace = <A extends unknown[], R>(f: (...a: A) => R) => (async (...a: A) => f(...a)) as never;
  Object.assign(files, {
    chmod: inPlace(fs.chmodSync),
    lstat: inPlace(fs.lstatSync),
    mkdir: inPlace(fs.mkdirSync),
    open: (async (file: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) =>
      new InPlaceHandle(fs.openSync(file, flags ?? 'r', mode)) as unknown as FileHandle) as Calls['open'],
    readdir: inPlace(fs.readdirSync),
    readFile: inPlace(fs.readFileSync),
    readlink: inPlace(fs.readlinkSync),
    realpath: inPlace(fs.realpathSync),
    rename: inPlace(fs.renameSync),
    rm: inPlace(fs.rmSync),
    rmdir: inPlace(fs.rmdirSync),
    stat: inPlace(fs.statSync),
    unlink: inPlace(fs.unlinkSync),
    writeFile: inPlace(fs.writeFileSync),
  } satisfies Record<keyof Calls, unknown>);
}
