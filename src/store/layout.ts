// On-disk layout shared by the repository (durable, on disk) and the store
// (resident copy on tmpfs). Both are "roots" with the same shape, so making a
// model resident is a copy of files from one root to the other. See
// docs/store-format.md.
import { constants as fsConstants, existsSync } from 'node:fs';
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { files as fs } from '../file-calls.js';
import { TensorshareError } from '../errors.js';

export interface Layout {
  root: string;
  tensors: string;
  graphs: string;
  models: string;
  variants: string;
  tmp: string;
}

export function layout(root: string): Layout {
  const r = path.resolve(root);
  return {
    root: r,
    tensors: path.join(r, 'tensors'),
    graphs: path.join(r, 'graphs'),
    models: path.join(r, 'models'),
    variants: path.join(r, 'variants'),
    tmp: path.join(r, 'tmp'),
  };
}

/**
 * Whether a path exists, asked synchronously: the store's existence checks
 * (a tensor already there, a model's versions, a stamp) miss often, and a
 * miss through fs/promises builds an Error with a stack (about 75 us of CPU
 * measured, against 3 us for this), a thread-pool round trip each. A lookup
 * of a name, it reads no file data.
 */
export const isPresent = (p: string): boolean => existsSync(p);

export const tensorPath = (l: Layout, sha256: string) => path.join(l.tensors, sha256);
export const graphPath = (l: Layout, sha256: string) => path.join(l.graphs, `${sha256}.onnx`);
export const modelDir = (l: Layout, name: string) => path.join(l.models, name);
export const manifestPath = (l: Layout, name: string, version: string) => path.join(l.models, name, `${version}.json`);

/** True when the model's manifest (written last, after every file it names) is in the root. */
export async function isResident(root: Layout, m: { name: string; version: string }): Promise<boolean> {
  return isPresent(manifestPath(root, m.name, m.version));
}
export const variantPath = (l: Layout, digest: string, key: string) => path.join(l.variants, digest, `${key}.json`);

const layoutDirs = (l: Layout) => [l.tensors, l.graphs, l.models, l.variants, l.tmp];

/** `dev:ino` of each layout folder as ensureLayout last verified it in this process, by root. */
const verifiedLayouts = new Map<string, string>();

const identityOf = async (dirs: string[]): Promise<string | undefined> => {
  const st = await Promise.all(dirs.map((d) => fs.lstat(d).catch(() => undefined)));
  return st.every((s) => s?.isDirectory()) ? st.map((s) => `${s!.dev}:${s!.ino}`).join(',') : undefined;
};

/**
 * Creates and verifies the root's folders (ensureSafeDir). Every import and
 * every materialization calls it: verified once in this process, a root's
 * folders are only looked at again (one lstat each, at once): the same
 * folders (device and inode) need no second check, since once verified only
 * this user or root can replace them or the folders above them (a thousand
 * imports made about 140 file system calls each here). A folder removed or
 * replaced since is verified again in full.
 */
export async function ensureLayout(l: Layout): Promise<void> {
  const dirs = layoutDirs(l);
  const known = verifiedLayouts.get(l.root);
  if (known !== undefined && (await identityOf(dirs)) === known) return;
  for (const d of dirs) await ensureSafeDir(d);
  const now = await identityOf(dirs);
  if (now !== undefined) verifiedLayouts.set(l.root, now);
}

const octal = (m: number) => `0${(m & 0o7777).toString(8)}`;

function refuse(dir: string, st: { uid: number; mode: number } | undefined, why: string): TensorshareError {
  const seen = st ? ` (owner uid ${st.uid}, mode ${octal(st.mode)})` : '';
  return new TensorshareError('ERR_PERMISSION_DENIED', `refusing ${dir}${seen}: ${why}`, {
    path: dir,
    ...(st ? { uid: st.uid, mode: octal(st.mode) } : {}),
  });
}

/** Every folder above `dir` (as written and as resolved) can be changed only by root or this user, or is sticky (like /tmp). */
async function checkAncestors(dir: string, uid: number): Promise<void> {
  const prefixes = (p: string) =>
    p.split(path.sep).map((_, i, parts) => parts.slice(0, i + 1).join(path.sep) || path.sep);
  for (const p of new Set([...prefixes(path.resolve(dir)), ...prefixes(await fs.realpath(dir))])) {
    const st = await fs.lstat(p);
    if (st.isSymbolicLink()) continue; // what it points to is on the resolved path; the folder holding it is a prefix
    if (st.uid !== 0 && st.uid !== uid)
      throw refuse(p, st, `a folder above ${dir} belongs to another user, who could replace what is inside it`);
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)
      throw refuse(p, st, `a folder above ${dir} is writable by other users and not sticky`);
  }
}

/**
 * Creates `dir` if missing, then verifies it (create-then-verify, no race):
 * opened without following a symlink, it must be a folder owned by this
 * process's user and writable by nobody else, and the folders above it must
 * be safe too. With `mode`, its mode is set through the opened descriptor. A
 * folder another user made first (a squatter in a world-writable parent like
 * /dev/shm), a symlink or a group/world-writable folder is refused with
 * ERR_PERMISSION_DENIED naming its path, owner and mode.
 */
export async function ensureSafeDir(dir: string, mode?: number): Promise<void> {
  const uid = process.geteuid?.() ?? 0;
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
  await checkAncestors(path.dirname(dir), uid);
  await fs.mkdir(dir, { mode: mode ?? 0o755 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  let fh: FileHandle;
  try {
    fh = await fs.open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
  } catch (e) {
    const st = await fs.lstat(dir).catch(() => undefined);
    if (st?.isSymbolicLink())
      throw refuse(
        dir,
        st,
        `it is a symbolic link (to ${await fs.readlink(dir)}); the store's folders must be real folders`,
      );
    if (st && !st.isDirectory()) throw refuse(dir, st, 'it is not a folder');
    throw e;
  }
  try {
    const st = await fh.stat();
    if (st.uid !== uid)
      throw refuse(
        dir,
        st,
        `it belongs to another user, not to this process (uid ${uid}): whoever made it could replace the socket or the tensors; remove it or choose another folder`,
      );
    if ((st.mode & 0o022) !== 0)
      throw refuse(
        dir,
        st,
        'it is writable by group or others, who could replace the socket or the tensors; chmod go-w it (and check what is inside)',
      );
    if (mode !== undefined && (st.mode & 0o7777) !== mode) await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const isValidName = (s: string) => NAME.test(s) && !s.endsWith('.json');
export const isValidVersion = (s: string) => VERSION.test(s);
export const isSha256 = (s: string) => /^[0-9a-f]{64}$/.test(s);
