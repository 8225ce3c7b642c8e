// Read-side queries over a root: resolve `name[:version]`, list models,
// load manifests and variants. Pure reads; writers are import.ts, gc.ts.
import { files as fs } from '../file-calls.js';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { checkManifest, readJson, type Manifest, type VariantManifest } from './manifest.js';
import { isPresent, isValidName, isValidVersion, layout, manifestPath, modelDir, type Layout } from './layout.js';

export interface ModelRef {
  name: string;
  version?: string;
}

export function parseRef(ref: string): ModelRef {
  const i = ref.lastIndexOf(':');
  const name = i < 0 ? ref : ref.slice(0, i);
  const version = i < 0 ? undefined : ref.slice(i + 1);
  if (!isValidName(name)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `invalid model name '${name}': use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit)`,
      { ref },
    );
  }
  if (version !== undefined && !isValidVersion(version)) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `invalid model version '${version}' in '${ref}'`, { ref });
  }
  return { name, version };
}

/** Orders versions so that numeric ones compare as numbers ("10" after "9"). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export async function listVersions(l: Layout, name: string): Promise<string[]> {
  // A model not imported yet (every import of a new name asks): no failing readdir.
  if (!isPresent(modelDir(l, name))) return [];
  try {
    const files = await fs.readdir(modelDir(l, name));
    return files
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort(compareVersions);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function listModels(l: Layout): Promise<Manifest[]> {
  let names: string[];
  try {
    names = (await fs.readdir(l.models)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: Manifest[] = [];
  for (const name of names) {
    for (const v of await listVersions(l, name)) out.push(await readManifest(l, name, v));
  }
  return out;
}

export async function readManifest(l: Layout, name: string, version: string): Promise<Manifest> {
  const file = manifestPath(l, name, version);
  return checkManifest(await readJson<Manifest>(file, `model ${name}:${version}`), file);
}

/** Resolves `name[:version]`; without a version, the most recently imported one is the default. */
export async function resolveModel(l: Layout, ref: string | ModelRef): Promise<Manifest> {
  const r = typeof ref === 'string' ? parseRef(ref) : ref;
  if (r.version) return readManifest(l, r.name, r.version);
  const versions = await listVersions(l, r.name);
  if (versions.length === 0)
    throw new TensorshareError('ERR_MODEL_NOT_FOUND', `model '${r.name}' not found in ${l.root}`, { name: r.name });
  const all = await Promise.all(versions.map((v) => readManifest(l, r.name, v)));
  // Sorted by version already; a stable sort by time keeps version order for ties.
  return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1)!;
}

export async function listVariants(l: Layout, digest: string): Promise<VariantManifest[]> {
  const dir = path.join(l.variants, digest);
  let files: string[];
  try {
    files = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: VariantManifest[] = [];
  for (const f of files.filter((x) => x.endsWith('.json')))
    out.push(await readJson<VariantManifest>(path.join(dir, f), `variant ${f}`));
  return out;
}

export { layout };
