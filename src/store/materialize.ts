// Makes a model resident: copies its graph and tensors from the repository
// (disk) into the store (tmpfs), then its manifest last -- a manifest in the
// store means every file it names is there. Idempotent and safe to run from
// several processes at once: every file lands by rename.
import fs from 'node:fs/promises';
import path from 'node:path';
import { TensorshareError, rethrowNoSpace } from '../errors.js';
import {
  ensureLayout,
  isPresent,
  isResident,
  graphPath,
  manifestPath,
  tensorPath,
  variantPath,
  type Layout,
} from './layout.js';
import { withLock } from './lock.js';
import { uniqueTensors, type FileRef, type Manifest, type OpenMode, type VariantManifest } from './manifest.js';
import { hasHugePagesNow } from './huge-pages.js';
import { copyPresized } from './presized-copy.js';
import { storeSizeOk } from './originals.js';
import { cleanStaleStaging, commitFile, createStaging, removeStaging, writeAtomic } from './staging.js';

export interface MaterializeResult {
  filesCopied: number;
  bytesCopied: number;
  ms: number;
}

const exists = async (p: string): Promise<boolean> => isPresent(p);

// isResident lives in layout.ts (opening a resident model needs nothing of this module); re-exported here.
export { isResident };

/** The modes a model is resident in: fast-open (its manifest), fast-run (its variant for this ORT and CPU). */
export async function residentModes(store: Layout, m: Manifest, fastRun: string): Promise<OpenMode[]> {
  const modes: OpenMode[] = [];
  if (await isResident(store, m)) modes.push('fast-open');
  if (await exists(variantPath(store, m.digest, fastRun))) modes.push('fast-run');
  return modes;
}

/** Bytes of a file, or undefined when it does not exist. */
async function sizeOf(p: string): Promise<number | undefined> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return undefined;
  }
}

/**
 * Files of a model or variant missing from a root. A fast-run file cut to its
 * blobs (originals.ts) is there: the next creation window restores it in
 * place, and a copy would give new sessions another inode than running ones
 * map (the blobs twice in memory). `replace`: the file is there with a size
 * it cannot have, and a whole copy replaces it.
 */
export async function missingFiles(
  root: Layout,
  graph: FileRef,
  tensors: readonly (FileRef & { originalsTail?: number })[],
): Promise<{ src: (l: Layout) => string; ref: FileRef; replace: boolean }[]> {
  const out: { src: (l: Layout) => string; ref: FileRef; replace: boolean }[] = [];
  if (!(await exists(graphPath(root, graph.sha256))))
    out.push({ src: (l) => graphPath(l, graph.sha256), ref: graph, replace: false });
  const tails = new Map(tensors.map((t) => [t.sha256, t.originalsTail]));
  for (const t of uniqueTensors(tensors)) {
    const size = await sizeOf(tensorPath(root, t.sha256));
    if (!storeSizeOk({ bytes: t.bytes, originalsTail: tails.get(t.sha256) }, size))
      out.push({ src: (l) => tensorPath(l, t.sha256), ref: t, replace: size !== undefined });
  }
  return out;
}

async function copyFiles(
  repo: Layout,
  store: Layout,
  graph: FileRef,
  tensors: readonly FileRef[],
  publish: () => Promise<void>,
): Promise<MaterializeResult> {
  const t0 = performance.now();
  await ensureLayout(store);
  await cleanStaleStaging(store);
  const missing = await missingFiles(store, graph, tensors);
  const need = missing.reduce((a, f) => a + f.ref.bytes, 0);
  const free = await freeBytes(store.root);
  if (need > free) {
    throw new TensorshareError(
      'ERR_NO_SPACE',
      `store ${store.root} needs ${need} bytes for this model but has ${free} free`,
      { need, free, store: store.root },
    );
  }
  const staging = await createStaging(store);
  // A presized copy is what gets huge pages; elsewhere the kernel's copy is better: it costs the
  // caller no buffer (a daemonless opener copies in its own process, whose private memory counts).
  const copy = (await hasHugePagesNow(store.root)) ? copyPresized : fs.copyFile;
  try {
    const staged: { file: string; dest: string; replace: boolean }[] = [];
    for (const [i, f] of missing.entries()) {
      const file = path.join(staging, `f${i}`);
      try {
        await copy(f.src(repo), file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new TensorshareError(
            'ERR_CORRUPT_TENSOR',
            `repository ${repo.root} lacks ${f.src(repo)}; run 'tensorshare verify'`,
            { file: f.src(repo) },
          );
        }
        rethrowNoSpace(e, store.root);
      }
      staged.push({ file, dest: f.src(store), replace: f.replace });
    }
    await withLock(store, async () => {
      for (const s of staged) {
        if (!s.replace) await commitFile(s.file, s.dest);
        else {
          // A file of a size it cannot have (not written by this store's writers): replaced whole.
          await fs.chmod(s.file, 0o444);
          await fs.rename(s.file, s.dest);
        }
      }
      await publish();
    });
    return { filesCopied: missing.length, bytesCopied: need, ms: performance.now() - t0 };
  } finally {
    await removeStaging(staging);
  }
}

export async function materialize(repo: Layout, store: Layout, m: Manifest): Promise<MaterializeResult> {
  return copyFiles(repo, store, m.graph, m.tensors, () =>
    writeAtomic(store, manifestPath(store, m.name, m.version), `${JSON.stringify(m, null, 2)}\n`),
  );
}

export async function materializeVariant(
  repo: Layout,
  store: Layout,
  v: VariantManifest,
  key: string,
): Promise<MaterializeResult> {
  return copyFiles(repo, store, v.graph, v.tensors, () =>
    writeAtomic(store, variantPath(store, v.modelDigest, key), `${JSON.stringify(v, null, 2)}\n`),
  );
}

export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}
