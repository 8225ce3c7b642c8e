// Writes land in <root>/tmp/<pid>-<random>/ first (imports: files named
// <pid>-<random>-<name> in tmp/ itself) and are renamed into place, so no
// reader ever sees a partial file. A process killed mid-write leaves only its
// staging folder or files, which the next writer removes once that pid is gone.
import type { FileHandle } from 'node:fs/promises';
import { files as fs } from '../file-calls.js';
import path from 'node:path';
import { nodeCrypto } from './crypto.js';
import { rethrowNoSpace } from '../errors.js';
import type { TensorSink } from '../onnx/split.js';
import type { CopyPool } from './copy-pool.js';
import { isPresent, type Layout } from './layout.js';

/** A new name in the root's tmp/ for this process: its pid first, so cleanStaleStaging knows whose it is. */
const freshInTmp = (l: Layout) => path.join(l.tmp, `${process.pid}-${nodeCrypto().randomBytes(6).toString('hex')}`);

export async function createStaging(l: Layout): Promise<string> {
  const dir = freshInTmp(l);
  // tmp/ is there after ensureLayout; a recursive mkdir costs a failing call more.
  await fs
    .mkdir(dir)
    .catch((e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' ? fs.mkdir(dir, { recursive: true }) : Promise.reject(e),
    );
  return dir;
}

/**
 * One import's staging: files directly in tmp/, named after a prefix of its own. No folder is made
 * and removed per import: on an ext4 without a journal (this project's machines) every inode freed
 * within the last minute is skipped, one inode-table lookup each, by every later allocation in its
 * group, so a folder made and removed per import made each of a thousand imports slower than the last.
 */
export interface StagingFiles {
  /** A path for `name` in this staging (a file, or a folder the caller makes). */
  path(name: string): string;
  /** Removes what is left of the paths handed out (the committed ones were renamed away). */
  remove(): Promise<void>;
}

export function stagingFiles(l: Layout): StagingFiles {
  const prefix = freshInTmp(l);
  const handed = new Set<string>();
  return {
    path(name) {
      const p = `${prefix}-${name}`;
      handed.add(p);
      return p;
    },
    async remove() {
      // Most were renamed into place: a look in tmp/ costs less than a removal that fails.
      for (const p of handed) if (isPresent(p)) await fs.rm(p, { recursive: true, force: true });
      handed.clear();
    },
  };
}

/** Whether a process with this pid exists (EPERM: it does, as another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging folders (and an import's staging files) whose owning process is gone. Returns how many. */
export async function cleanStaleStaging(l: Layout): Promise<number> {
  let removed = 0;
  let entries: string[];
  try {
    entries = await fs.readdir(l.tmp);
  } catch {
    return 0;
  }
  for (const e of entries) {
    const pid = Number(e.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) continue;
    if (pid === process.pid) continue;
    await fs.rm(path.join(l.tmp, e), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** A staged tensor: a file in staging, or, when finish() found its hash already stored, bytes kept to write if needed. */
export interface StagedSink extends TensorSink {
  path: string;
  /** Writes the staged file now if finish() left it unwritten (a commit that finds the stored copy gone needs it). */
  ensureWritten(): Promise<void>;
  /** Drops it (a duplicate, or already stored): removes the file when there is one. */
  discard(): Promise<void>;
}

export interface SinkOptions {
  /**
   * With hashing inline: a tensor this says is stored already is not written to
   * staging at all (fine-tuned variants share most of their tensors: a file made
   * and removed again for each cost inode churn on the repository's disk). Its
   * bytes are kept, up to `keepBytes` per factory, until the commit.
   */
  stored?: (sha256: string) => boolean;
  /** Bytes a factory keeps in memory across its tensors (default 8 MiB); past it, tensors stream to files. */
  keepBytes?: number;
}

/**
 * A TensorSink writing to a staging file while hashing it. With a pool, a
 * tensor handed over as a range of the source file (copyRange) is copied and
 * hashed by a worker thread (finish() then returns the hash as a promise, so
 * the split goes on parsing); bytes written through write() are hashed here.
 * With `o.stored`, see SinkOptions.
 */
export function fileSink(
  pathOf: (name: string) => string,
  index: number,
  pool?: CopyPool,
  o: SinkOptions = {},
): () => Promise<StagedSink> {
  let keepLeft = o.stored && !pool ? (o.keepBytes ?? 8 * 2 ** 20) : 0;
  return async () => {
    const p = pathOf(`t${index++}`);
    const hash = nodeCrypto().createHash('sha256');
    // Chunks held in memory until finish() knows the hash (copies: the split reuses its buffers).
    let kept: Buffer[] | undefined = keepLeft > 0 ? [] : undefined;
    let fh: FileHandle | undefined;
    let written = false;
    let bytes = 0;
    /** The worker's copy of a range: the file is its, and settled once this does. */
    let copied: Promise<string> | undefined;
    const settled = () =>
      copied?.then(
        () => {},
        () => {},
      );
    const close = async () => {
      const f = fh;
      fh = undefined;
      await f?.close();
    };
    const put = async (chunks: Buffer[]) => {
      try {
        fh ??= await fs.open(p, 'w', 0o644);
        written = true;
        if (chunks.length) await fh.writev(chunks);
      } catch (e) {
        await close();
        await fs.rm(p, { force: true });
        rethrowNoSpace(e, p);
      }
    };
    return {
      path: p,
      async write(chunk, stable) {
        hash.update(chunk);
        bytes += chunk.length;
        if (kept && chunk.length <= keepLeft) {
          keepLeft -= chunk.length;
          kept.push(stable ? chunk : Buffer.from(chunk));
          return;
        }
        if (kept) {
          const k = kept;
          kept = undefined; // over the budget: this tensor streams to its file from here
          await put(k);
        }
        await put([chunk]);
      },
      ...(pool && {
        async copyRange(source: FileHandle, offset: number, length: number) {
          kept = undefined;
          written = true;
          bytes += length;
          copied = pool.copy(source.fd, offset, length, p).catch((e) => rethrowNoSpace(e, p));
          copied.catch(() => {}); // observed through finish()
        },
      }),
      async finish() {
        if (copied) return { sha256: copied, bytes };
        const sha256 = hash.digest('hex');
        if (kept && !o.stored?.(sha256)) {
          await put(kept);
          kept = undefined;
        }
        await close();
        return { sha256, bytes };
      },
      async ensureWritten() {
        await copied;
        if (written) return;
        await put(kept ?? []);
        kept = undefined;
        await close();
      },
      async discard() {
        kept = undefined;
        await settled();
        await close();
        if (written) await fs.unlink(p).catch(() => {});
      },
      async abort() {
        kept = undefined;
        await settled();
        await close();
        await fs.rm(p, { force: true });
      },
      readBack: async () => {
        await copied;
        return written ? fs.readFile(p) : Buffer.concat(kept ?? []);
      },
    };
  };
}

/**
 * Moves a staged file to its content-addressed place, read-only. If the
 * destination exists it already holds the same bytes: drop the staged copy.
 */
export async function commitFile(staged: string, dest: string): Promise<'added' | 'existed'> {
  if (isPresent(dest)) {
    await fs.unlink(staged).catch(() => {});
    return 'existed';
  }
  await fs.chmod(staged, 0o444);
  await fs.rename(staged, dest);
  return 'added';
}

/** Removes a staging folder: one call when everything in it was committed, else the whole tree. */
export async function removeStaging(dir: string): Promise<void> {
  await fs.rmdir(dir).catch(() => fs.rm(dir, { recursive: true, force: true }));
}

/** Writes small content (manifests) atomically: staging file, then rename. */
export async function writeAtomic(l: Layout, dest: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = `${freshInTmp(l)}.partial`;
  try {
    await fs.writeFile(tmp, content, { mode });
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.rename(tmp, dest);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    rethrowNoSpace(e, dest);
  }
}
