// Housekeeping over one root: remove models, collect unreferenced files,
// account logical vs physical bytes, and re-hash everything.
import fs from 'node:fs/promises';
import path from 'node:path';
import { cutLengths } from './originals.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { TensorshareError } from '../errors.js';
import { graphPath, isSha256, manifestPath, modelDir, tensorPath, type Layout } from './layout.js';
import { withLock } from './lock.js';
import { uniqueTensors, type FileRef, type Manifest, type VariantManifest } from './manifest.js';
import { listModels, listVariants, listVersions, parseRef, readManifest } from './repository.js';
import { cleanStaleStaging } from './staging.js';

/** Removes `name:version`, or every version of `name`. Files stay until gc. */
export async function removeModel(l: Layout, ref: string): Promise<Manifest[]> {
  const r = parseRef(ref);
  return withLock(l, async () => {
    const versions = r.version ? [r.version] : await listVersions(l, r.name);
    const removed: Manifest[] = [];
    for (const v of versions) {
      try {
        removed.push(await readManifest(l, r.name, v));
      } catch (e) {
        if ((e as TensorshareError).code !== 'ERR_MODEL_NOT_FOUND') throw e;
        continue;
      }
      await fs.rm(manifestPath(l, r.name, v), { force: true });
    }
    if (removed.length === 0)
      throw new TensorshareError('ERR_MODEL_NOT_FOUND', `model '${ref}' not found in ${l.root}`, { ref });
    await fs.rmdir(modelDir(l, r.name)).catch(() => {}); // only if now empty
    return removed;
  });
}

interface Referenced {
  manifests: Manifest[];
  variants: VariantManifest[];
  files: Set<string>; // sha256 of tensors and graphs
}

async function referenced(l: Layout): Promise<Referenced> {
  const manifests = await listModels(l);
  const files = new Set<string>();
  const variants: VariantManifest[] = [];
  const add = (graph: FileRef, tensors: readonly FileRef[]) => {
    files.add(graph.sha256);
    for (const t of tensors) files.add(t.sha256);
  };
  for (const digest of new Set(manifests.map((m) => m.digest))) {
    for (const v of await listVariants(l, digest)) {
      variants.push(v);
      add(v.graph, v.tensors);
    }
  }
  for (const m of manifests) add(m.graph, m.tensors);
  return { manifests, variants, files };
}

export interface GcResult {
  filesRemoved: number;
  bytesFreed: number;
  variantsRemoved: number;
  stagingRemoved: number;
}

/** Deletes tensors, graphs and variants no manifest references. Holds the commit lock throughout. */
export async function gc(l: Layout): Promise<GcResult> {
  return withLock(l, async () => {
    const stagingRemoved = await cleanStaleStaging(l);
    const ref = await referenced(l);
    const live = new Set(ref.manifests.map((m) => m.digest));
    let variantsRemoved = 0;
    for (const digest of await fs.readdir(l.variants).catch(() => [] as string[])) {
      if (!live.has(digest)) {
        variantsRemoved += (await fs.readdir(path.join(l.variants, digest)).catch(() => [])).length;
        await fs.rm(path.join(l.variants, digest), { recursive: true, force: true });
      }
    }
    let filesRemoved = 0;
    let bytesFreed = 0;
    for (const [dir, strip] of [
      [l.tensors, ''],
      [l.graphs, '.onnx'],
    ] as const) {
      for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
        const sha = strip ? f.slice(0, -strip.length) : f;
        if (ref.files.has(sha)) continue;
        const p = path.join(dir, f);
        const st = await fs.stat(p).catch(() => undefined);
        await fs.rm(p, { force: true });
        filesRemoved++;
        bytesFreed += st?.size ?? 0;
      }
    }
    return { filesRemoved, bytesFreed, variantsRemoved, stagingRemoved };
  });
}

export interface ModelUsage {
  ref: string;
  /** Bytes as separate copies would take them: graph + every tensor entry, duplicates included. */
  logicalBytes: number;
  /** Bytes of distinct files the model needs. */
  uniqueBytes: number;
  /** Of those, bytes in files no other model version uses. */
  exclusiveBytes: number;
  sharedBytes: number;
  tensors: number;
}

export interface DiskUsage {
  root: string;
  models: ModelUsage[];
  /** Sum of the models' logical bytes: what separate copies would take. */
  logicalBytes: number;
  /** Bytes of the distinct files the models need (what the store holds for them). */
  physicalBytes: number;
  dedupRatio: number;
  /** Fast-run variants: bytes of their files that the models do not already hold. */
  variantBytes: number;
  /** Files no manifest or variant references (what gc would free). */
  unreferencedBytes: number;
}

export async function du(l: Layout): Promise<DiskUsage> {
  const ref = await referenced(l);
  const users = usersByFile(ref.manifests);
  const models = ref.manifests.map((m): ModelUsage => {
    const files = [m.graph, ...uniqueTensors(m.tensors)];
    const unique = files.reduce((a, f) => a + f.bytes, 0);
    const exclusive = files.filter((f) => (users.get(f.sha256)?.size ?? 0) <= 1).reduce((a, f) => a + f.bytes, 0);
    const logical = m.tensors.reduce((a, t) => a + t.bytes, m.graph.bytes);
    return {
      ref: `${m.name}:${m.version}`,
      logicalBytes: logical,
      uniqueBytes: unique,
      exclusiveBytes: exclusive,
      sharedBytes: unique - exclusive,
      tensors: m.tensors.length,
    };
  });
  const sizes = new Map<string, number>();
  for (const m of ref.manifests) for (const f of [m.graph, ...m.tensors]) sizes.set(f.sha256, f.bytes);
  const physical = [...sizes.values()].reduce((a, b) => a + b, 0);
  let variantBytes = 0;
  for (const v of ref.variants) {
    for (const f of [v.graph, ...v.tensors]) {
      if (f.sha256 && !sizes.has(f.sha256)) {
        sizes.set(f.sha256, f.bytes);
        variantBytes += f.bytes;
      }
    }
  }
  let onDisk = 0;
  for (const dir of [l.tensors, l.graphs]) {
    for (const f of await fs.readdir(dir).catch(() => [] as string[]))
      onDisk += (await fs.stat(path.join(dir, f)).catch(() => ({ size: 0 }))).size;
  }
  const logical = models.reduce((a, m) => a + m.logicalBytes, 0);
  return {
    root: l.root,
    models,
    logicalBytes: logical,
    physicalBytes: physical,
    dedupRatio: physical > 0 ? logical / physical : 1,
    variantBytes,
    unreferencedBytes: Math.max(0, onDisk - physical - variantBytes),
  };
}

/** sha256 -> the model refs ("name:version") whose manifests use it. */
export function usersByFile(manifests: readonly Manifest[]): Map<string, Set<string>> {
  const users = new Map<string, Set<string>>();
  for (const m of manifests) {
    for (const f of [m.graph, ...m.tensors]) {
      let s = users.get(f.sha256);
      if (!s) {
        s = new Set();
        users.set(f.sha256, s);
      }
      s.add(`${m.name}:${m.version}`);
    }
  }
  return users;
}

export interface VerifyProblem {
  kind: 'corrupt' | 'missing' | 'bad-manifest' | 'stray';
  file: string;
  detail: string;
  models: string[];
}

export interface VerifyResult {
  root: string;
  filesChecked: number;
  bytesChecked: number;
  problems: VerifyProblem[];
}

/** Re-hashes every tensor and graph file and checks every manifest's files exist. */
export async function verify(l: Layout, onProgress?: (bytes: number, total: number) => void): Promise<VerifyResult> {
  const problems: VerifyProblem[] = [];
  let manifests: Manifest[] = [];
  try {
    manifests = await listModels(l);
  } catch (e) {
    problems.push({
      kind: 'bad-manifest',
      file: String((e as TensorshareError).details?.file ?? l.models),
      detail: (e as Error).message,
      models: [],
    });
  }
  const users = usersByFile(manifests);
  const files: { file: string; sha: string }[] = [];
  for (const [dir, suffix] of [
    [l.tensors, ''],
    [l.graphs, '.onnx'],
  ] as const) {
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
      const sha = suffix ? f.slice(0, -suffix.length) : f;
      if (!isSha256(sha) || (suffix && !f.endsWith(suffix))) {
        problems.push({ kind: 'stray', file: path.join(dir, f), detail: 'file name is not a SHA-256', models: [] });
        continue;
      }
      files.push({ file: path.join(dir, f), sha });
    }
  }
  const sizes = await Promise.all(files.map((f) => fs.stat(f.file).then((s) => s.size)));
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  // Fast-run files a store has cut its originals off (originals.ts): whole again before the next creation.
  const cut = await cutLengths(l);
  for (const [i, f] of files.entries()) {
    if (cut.get(f.sha) === sizes[i]) {
      done += sizes[i]!;
      continue;
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(f.file, { highWaterMark: 4 << 20 })) {
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      onProgress?.(done, total);
    }
    const actual = hash.digest('hex');
    if (actual !== f.sha) {
      problems.push({
        kind: 'corrupt',
        file: f.file,
        detail: `content hashes to ${actual}`,
        models: [...(users.get(f.sha) ?? [])],
      });
    }
  }
  for (const m of manifests) {
    const missing = [graphPath(l, m.graph.sha256), ...uniqueTensors(m.tensors).map((t) => tensorPath(l, t.sha256))];
    for (const p of missing) {
      try {
        await fs.access(p);
      } catch {
        problems.push({
          kind: 'missing',
          file: p,
          detail: `needed by ${m.name}:${m.version}`,
          models: [`${m.name}:${m.version}`],
        });
      }
    }
  }
  return { root: l.root, filesChecked: files.length, bytesChecked: total, problems };
}
