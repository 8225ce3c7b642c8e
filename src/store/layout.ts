// On-disk layout shared by the repository (durable, on disk) and the store
// (resident copy on tmpfs). Both are "roots" with the same shape, so making a
// model resident is a copy of files from one root to the other. See
// docs/store-format.md.
import path from 'node:path';
import fs from 'node:fs/promises';

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

export const tensorPath = (l: Layout, sha256: string) => path.join(l.tensors, sha256);
export const graphPath = (l: Layout, sha256: string) => path.join(l.graphs, `${sha256}.onnx`);
export const modelDir = (l: Layout, name: string) => path.join(l.models, name);
export const manifestPath = (l: Layout, name: string, version: string) => path.join(l.models, name, `${version}.json`);
export const variantPath = (l: Layout, digest: string, key: string) => path.join(l.variants, digest, `${key}.json`);

export async function ensureLayout(l: Layout): Promise<void> {
  for (const d of [l.tensors, l.graphs, l.models, l.variants, l.tmp]) await fs.mkdir(d, { recursive: true });
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const isValidName = (s: string) => NAME.test(s) && !s.endsWith('.json');
export const isValidVersion = (s: string) => VERSION.test(s);
export const isSha256 = (s: string) => /^[0-9a-f]{64}$/.test(s);
