// Writes land in <root>/tmp/<pid>-<random>/ first and are renamed into place,
// so no reader ever sees a partial file. A process killed mid-write leaves
// only its staging folder, which the next writer removes once that pid is gone.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { rethrowNoSpace } from '../errors.js';
import type { TensorSink } from '../onnx/split.js';
import type { FileHashPool } from './file-hash-pool.js';
import type { Layout } from './layout.js';

export async function createStaging(l: Layout): Promise<string> {
  const dir = path.join(l.tmp, `${process.pid}-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
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

/** Removes staging folders whose owning process is gone. Returns how many. */
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

/**
 * A TensorSink writing to a staging file while hashing it; with a pool, the
 * finished file is hashed on a worker thread instead (finish() then returns
 * the hash as a promise, so the caller goes on reading and writing).
 */
export function fileSink(
  dir: string,
  index: number,
  pool?: FileHashPool,
): () => Promise<TensorSink & { path: string }> {
  return async () => {
    const p = path.join(dir, `t${index++}`);
    const fh = await fs.open(p, 'w', 0o644);
    const hash = pool ? undefined : createHash('sha256');
    let bytes = 0;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      path: p,
      async write(chunk) {
        hash?.update(chunk);
        bytes += chunk.length;
        try {
          await fh.write(chunk);
        } catch (e) {
          await close();
          await fs.rm(p, { force: true });
          rethrowNoSpace(e, p);
        }
      },
      async finish() {
        await close();
        return { sha256: hash ? hash.digest('hex') : pool!.hash(p), bytes };
      },
      async abort() {
        await close();
        await fs.rm(p, { force: true });
      },
      readBack: () => fs.readFile(p),
    };
  };
}

/**
 * Moves a staged file to its content-addressed place, read-only. If the
 * destination exists it already holds the same bytes: drop the staged copy.
 */
export async function commitFile(staged: string, dest: string): Promise<'added' | 'existed'> {
  try {
    await fs.access(dest);
    await fs.rm(staged, { force: true });
    return 'existed';
  } catch {
    await fs.chmod(staged, 0o444);
    await fs.rename(staged, dest);
    return 'added';
  }
}

/** Writes small content (manifests) atomically: staging file, then rename. */
export async function writeAtomic(l: Layout, dest: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = path.join(l.tmp, `${process.pid}-${randomBytes(6).toString('hex')}.partial`);
  try {
    await fs.writeFile(tmp, content, { mode });
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.rename(tmp, dest);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    rethrowNoSpace(e, dest);
  }
}
