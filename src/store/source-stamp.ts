// Source stamps: "this model file, as stat(2) sees it now, was imported as
// name:version". A function's `modelFile` is imported again at every start
// of `serve`; without a stamp, proving that the file is unchanged means
// hashing it (a restart over 1,000 functions of 0.8 MB hashed 0.8 GB, half of
// its deploy time). The stamp holds the file's device, inode, size, and
// modification and status-change times in nanoseconds, the check git's index
// makes: a write to the file changes its mtime and ctime (ctime cannot be set
// back by utimes), a replaced file has another inode. A stamp that does not
// match, or names a manifest that is gone or records other bytes, is ignored
// and the file is hashed as before. Stamps are a cache: losing one costs a
// hash, nothing else; a repository that cannot be written keeps none.
import { createHash } from 'node:crypto';
import { files as fs } from '../file-calls.js';
import path from 'node:path';
import { isPresent, type Layout } from './layout.js';
import { readManifest } from './repository.js';
import { sourceKey, type Manifest } from './manifest.js';
import { writeAtomic } from './staging.js';

const STAMP_FORMAT = 'tensorshare.source-stamp/v1';

interface Stamp {
  format: typeof STAMP_FORMAT;
  file: string;
  name: string;
  version: string;
  /**
   * The manifest's source identity when stamped (its source digest, or the whole file's SHA-256 in older
   * manifests): a version removed and imported again from other bytes does not match.
   */
  sourceSha256: string;
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

/** `<root>/sources/<sha256 of name NUL absolute path>.json`: one per (model name, file). */
export function stampPath(l: Layout, name: string, file: string): string {
  const key = createHash('sha256')
    .update(`${name}\0${path.resolve(file)}`)
    .digest('hex');
  return path.join(l.root, 'sources', `${key}.json`);
}

type Identity = Pick<Stamp, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>;

async function identity(file: string): Promise<Identity | undefined> {
  const st = await fs.stat(file, { bigint: true }).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  return {
    dev: String(st.dev),
    ino: String(st.ino),
    size: String(st.size),
    mtimeNs: String(st.mtimeNs),
    ctimeNs: String(st.ctimeNs),
  };
}

/**
 * The manifest `file` was imported as, when its stamp matches the file as it
 * is now (and `version`, when given); undefined otherwise.
 */
export async function stampedImport(
  l: Layout,
  name: string,
  version: string | undefined,
  file: string,
): Promise<Manifest | undefined> {
  const stamp = stampPath(l, name, file);
  if (!isPresent(stamp)) return undefined; // a first import: no failing read
  const [id, raw] = await Promise.all([identity(file), fs.readFile(stamp, 'utf8').catch(() => undefined)]);
  if (!id || raw === undefined) return undefined;
  let s: Stamp;
  try {
    s = JSON.parse(raw) as Stamp;
  } catch {
    return undefined;
  }
  if (s.format !== STAMP_FORMAT || s.name !== name || s.file !== path.resolve(file)) return undefined;
  if (version !== undefined && s.version !== version) return undefined;
  if ((Object.keys(id) as (keyof Identity)[]).some((k) => s[k] !== id[k])) return undefined;
  const m = await readManifest(l, name, s.version).catch(() => undefined);
  // Only single-file sources: a model with external data files depends on more than this file's stat.
  if (!m || sourceKey(m) !== s.sourceSha256 || m.source.externalFiles.length > 0) return undefined;
  return m;
}

/**
 * Records that `file` imports as `manifest`. `identityBefore` is the file's
 * identity taken before it was read: if the file changed while it was being
 * hashed, no stamp is written (the next start hashes it again). Best effort.
 */
export async function writeStamp(
  l: Layout,
  file: string,
  manifest: Manifest,
  before: Identity | undefined,
): Promise<void> {
  const key = sourceKey(manifest);
  if (!before || key === undefined || manifest.source.externalFiles.length > 0) return;
  const now = await identity(file);
  if (!now || Object.entries(before).some(([k, v]) => now[k as keyof Identity] !== v)) return;
  const stamp: Stamp = {
    format: STAMP_FORMAT,
    file: path.resolve(file),
    name: manifest.name,
    version: manifest.version,
    sourceSha256: key,
    ...now,
  };
  await writeAtomic(l, stampPath(l, manifest.name, file), `${JSON.stringify(stamp)}\n`).catch(() => {});
}

export { identity as sourceIdentity };
