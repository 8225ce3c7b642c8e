// What is resident in a store, and removing resident copies. The daemon owns
// the decisions (which model, which files are unreferenced); these functions
// only read and delete. Removal order keeps the store's invariant -- a
// manifest in the store means every file it names is there: the manifest
// goes first, then the files. The repository is never touched.
import fs from 'node:fs/promises';
import path from 'node:path';
import { graphPath, tensorPath, type Layout } from './layout.js';
import { withLock } from './lock.js';
import {
  checkManifest,
  readJson,
  uniqueTensors,
  type FileRef,
  type Manifest,
  type VariantManifest,
} from './manifest.js';
import { fastRunKey } from './fast-run.js';
import { storeSizeOk } from './originals.js';
import { mapBounded } from '../bounded.js';

/** File system calls a scan overlaps: a daemon's start scans every resident model (a thousand at a node of many functions). */
const SCAN_CONCURRENCY = 32;

export interface StoreFile {
  path: string;
  sha256: string;
  bytes: number;
  kind: 'graph' | 'tensor';
}

export type ResidentEntry =
  | { kind: 'model'; manifestFile: string; manifest: Manifest; files: StoreFile[]; mtimeMs?: number }
  | {
      kind: 'variant';
      manifestFile: string;
      variant: VariantManifest;
      key: string;
      files: StoreFile[];
      mtimeMs?: number;
    };

export interface StoreScan {
  resident: ResidentEntry[];
  /** Manifests whose files were not all present; removed when asked to. */
  incomplete: string[];
  /** Every tensor and graph file present, with its size. */
  files: Map<string, number>;
}

/** The files a model or variant maps from a root: its graph and unique tensors. */
export function filesOf(root: Layout, graph: FileRef, tensors: readonly FileRef[]): StoreFile[] {
  return [
    { path: graphPath(root, graph.sha256), sha256: graph.sha256, bytes: graph.bytes, kind: 'graph' as const },
    ...uniqueTensors(tensors).map((t) => ({
      path: tensorPath(root, t.sha256),
      sha256: t.sha256,
      bytes: t.bytes,
      kind: 'tensor' as const,
    })),
  ];
}

async function readdirOr(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function sizes(dir: string, out: Map<string, number>): Promise<void> {
  const names = await readdirOr(dir);
  const stats = await mapBounded(names, SCAN_CONCURRENCY, (f) => fs.stat(path.join(dir, f)).catch(() => undefined));
  names.forEach((f, i) => {
    if (stats[i]?.isFile()) out.set(path.join(dir, f), stats[i]!.size);
  });
}

/** Every `<dir>/<sub>/*.json`, sorted. */
async function manifestFiles(dir: string): Promise<string[]> {
  const subs = (await readdirOr(dir)).sort();
  const lists = await mapBounded(subs, SCAN_CONCURRENCY, async (sub) =>
    (await readdirOr(path.join(dir, sub)))
      .filter((x) => x.endsWith('.json'))
      .sort()
      .map((f) => path.join(dir, sub, f)),
  );
  return lists.flat();
}

/**
 * Lists the models and variants resident in a store root: those whose
 * manifest is there and whose files all are, at the expected sizes.
 */
export async function scanStore(store: Layout, options: { removeIncomplete?: boolean } = {}): Promise<StoreScan> {
  const files = new Map<string, number>();
  await Promise.all([sizes(store.tensors, files), sizes(store.graphs, files)]);
  const resident: ResidentEntry[] = [];
  const incomplete: string[] = [];
  const complete = (fs_: StoreFile[]) => fs_.every((f) => files.get(f.path) === f.bytes);
  const models = await manifestFiles(store.models);
  const read = await mapBounded(models, SCAN_CONCURRENCY, (manifestFile) =>
    Promise.all([
      readJson<Manifest>(manifestFile, 'manifest')
        .then((m) => checkManifest(m, manifestFile))
        .catch(() => undefined),
      fs.stat(manifestFile).then(
        (st) => st.mtimeMs,
        () => undefined,
      ),
    ]),
  );
  models.forEach((manifestFile, i) => {
    const [manifest, mtimeMs] = read[i]!;
    const fl = manifest ? filesOf(store, manifest.graph, manifest.tensors) : [];
    if (manifest && complete(fl)) resident.push({ kind: 'model', manifestFile, manifest, files: fl, mtimeMs });
    else incomplete.push(manifestFile);
  });
  const variants = await manifestFiles(store.variants);
  const readVariants = await mapBounded(variants, SCAN_CONCURRENCY, (manifestFile) =>
    Promise.all([
      readJson<VariantManifest>(manifestFile, 'variant').catch(() => undefined),
      fs.stat(manifestFile).then(
        (st) => st.mtimeMs,
        () => undefined,
      ),
    ]),
  );
  variants.forEach((manifestFile, i) => {
    const [variant, mtimeMs] = readVariants[i]!;
    const ok = variant?.graph && Array.isArray(variant.tensors);
    const fl = ok ? filesOf(store, variant.graph, variant.tensors) : [];
    // A fast-run file cut to its blobs between creation windows (originals.ts) is complete.
    const whole = ok && files.get(graphPath(store, variant.graph.sha256)) === variant.graph.bytes;
    if (whole && variant.tensors.every((t) => storeSizeOk(t, files.get(tensorPath(store, t.sha256)))))
      resident.push({
        kind: 'variant',
        manifestFile,
        variant,
        key: fastRunKey(variant.ortVersion, variant.target),
        files: fl,
        mtimeMs,
      });
    else incomplete.push(manifestFile);
  });
  if (options.removeIncomplete && incomplete.length) {
    await withLock(store, async () => {
      for (const m of incomplete) await fs.rm(m, { force: true });
    });
  }
  return { resident, incomplete, files };
}

/**
 * Removes a resident copy: the manifest (if any) first, then the given
 * files. The caller decides which files nothing else uses. Returns the bytes
 * freed.
 */
export async function evictResident(
  store: Layout,
  manifestFile: string | undefined,
  files: readonly string[],
): Promise<{ files: number; bytes: number }> {
  return withLock(store, async () => {
    if (manifestFile) await fs.rm(manifestFile, { force: true });
    let bytes = 0;
    let n = 0;
    for (const f of files) {
      const st = await fs.stat(f).catch(() => undefined);
      if (!st) continue;
      await fs.rm(f, { force: true });
      bytes += st.size;
      n++;
    }
    return { files: n, bytes };
  });
}
