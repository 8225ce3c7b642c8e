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

export interface StoreFile {
  path: string;
  sha256: string;
  bytes: number;
  kind: 'graph' | 'tensor';
}

export type ResidentEntry =
  | { kind: 'model'; manifestFile: string; manifest: Manifest; files: StoreFile[] }
  | { kind: 'variant'; manifestFile: string; variant: VariantManifest; key: string; files: StoreFile[] };

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
  for (const f of await readdirOr(dir)) {
    const p = path.join(dir, f);
    const st = await fs.stat(p).catch(() => undefined);
    if (st?.isFile()) out.set(p, st.size);
  }
}

/**
 * Lists the models and variants resident in a store root: those whose
 * manifest is there and whose files all are, at the expected sizes.
 */
export async function scanStore(store: Layout, options: { removeIncomplete?: boolean } = {}): Promise<StoreScan> {
  const files = new Map<string, number>();
  await sizes(store.tensors, files);
  await sizes(store.graphs, files);
  const resident: ResidentEntry[] = [];
  const incomplete: string[] = [];
  const complete = (fs_: StoreFile[]) => fs_.every((f) => files.get(f.path) === f.bytes);
  for (const name of (await readdirOr(store.models)).sort()) {
    for (const f of (await readdirOr(path.join(store.models, name))).filter((x) => x.endsWith('.json')).sort()) {
      const manifestFile = path.join(store.models, name, f);
      const manifest = await readJson<Manifest>(manifestFile, 'manifest')
        .then((m) => checkManifest(m, manifestFile))
        .catch(() => undefined);
      const fl = manifest ? filesOf(store, manifest.graph, manifest.tensors) : [];
      if (manifest && complete(fl)) resident.push({ kind: 'model', manifestFile, manifest, files: fl });
      else incomplete.push(manifestFile);
    }
  }
  for (const digest of (await readdirOr(store.variants)).sort()) {
    for (const f of (await readdirOr(path.join(store.variants, digest))).filter((x) => x.endsWith('.json')).sort()) {
      const manifestFile = path.join(store.variants, digest, f);
      const variant = await readJson<VariantManifest>(manifestFile, 'variant').catch(() => undefined);
      const ok = variant?.graph && Array.isArray(variant.tensors);
      const fl = ok ? filesOf(store, variant.graph, variant.tensors) : [];
      if (ok && complete(fl))
        resident.push({
          kind: 'variant',
          manifestFile,
          variant,
          key: fastRunKey(variant.ortVersion, variant.target),
          files: fl,
        });
      else incomplete.push(manifestFile);
    }
  }
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
