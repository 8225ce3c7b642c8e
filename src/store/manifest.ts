// The manifest: everything a process needs to map a model version, as plain
// JSON. Written once, never modified. docs/store-format.md is its spec.
import { files as fs } from '../file-calls.js';
import { TensorshareError } from '../errors.js';
import { dtypeInfo } from '../onnx/dtypes.js';
import type { ValueInfo } from '../onnx/schema.js';
import type { ErrorCode } from '../errors.js';
import { isSha256 } from './layout.js';

export const MANIFEST_FORMAT = 'tensorshare.model/v1';
export const VARIANT_FORMAT = 'tensorshare.variant/v1';

export type OpenMode = 'fast-open' | 'fast-run';

/** A dimension: a fixed size, a named symbolic dimension, or null when unknown. */
export type Dim = number | string | null;

export interface IoSpec {
  name: string;
  dtype: string;
  shape: Dim[] | null;
}

export interface TensorEntry {
  name: string;
  sha256: string;
  bytes: number;
  dtype: string;
  dims: number[];
}

export interface FileRef {
  sha256: string;
  bytes: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  version: string;
  /** Identity of the model's content: the SHA-256 of its graph file, which names every tensor by hash. */
  digest: string;
  createdAt: string;
  graph: FileRef;
  /**
   * The file it came from. `digest`: its identity (src/onnx/source-digest.ts),
   * in manifests written since it existed; `sha256`: the whole file's SHA-256,
   * in manifests written before, and in those imported with `hashSource` (the
   * daemon's: the client hook names and checks models by it).
   */
  source: { file: string; digest?: string; sha256?: string; bytes: number; externalFiles: string[] };
  producer: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  inputs: IoSpec[];
  outputs: IoSpec[];
  tensors: TensorEntry[];
  /** Initializer bytes left inside the graph file (small tensors, strings). */
  embeddedBytes: number;
  /** Mode used when an open does not choose one. */
  defaultMode: OpenMode;
  /** ORT version that imported it; the fast-open graph is ORT-version independent. */
  ortVersion: string;
  target: 'any';
  /**
   * What ONNX Runtime made of the model at import (absent in manifests written
   * before the check existed): the level fast-open loads at, and, for a model
   * imported with allowUnrunnable, why no session can be opened.
   */
  runtime?: { fastOpenLevel: 'disabled' | 'basic'; unrunnable?: { code: ErrorCode; message: string } };
}

/** A fast-run variant: ORT-optimized graph with prepacked weights, for one ORT version and CPU target. */
export interface VariantManifest {
  format: typeof VARIANT_FORMAT;
  kind: 'fast-run';
  modelDigest: string;
  ortVersion: string;
  target: string;
  createdAt: string;
  buildMs: number;
  /**
   * 'unavailable' when ONNX Runtime could not build the variant, or the one it
   * built failed the check against the model (store/variant-check.ts: same
   * interface, same probe outputs, bounded size); opens then use fast-open.
   */
  status: 'ok' | 'unavailable';
  reason?: string;
  /** How the probe went for an 'ok' variant: 'passed', or why it was skipped. */
  probe?: string;
  graph: FileRef;
  /**
   * Files the graph maps: original tensors and tensors extended with their
   * prepacked blobs. `originalsTail` (absent in variants built before it
   * existed): the file ends with that many bytes (from a page boundary) of
   * original data that ORT reads only while creating a session and was seen
   * to release afterwards, so the store may cut them off between creations
   * (store/originals.ts).
   */
  tensors: (FileRef & { name: string; prepacked: number; originalsTail?: number })[];
}

export function ioSpec(v: ValueInfo): IoSpec {
  const t = v.type?.tensorType;
  const dtype = t?.elemType !== undefined ? (dtypeInfo(t.elemType)?.name ?? `onnx:${t.elemType}`) : 'unknown';
  const dims = t?.shape?.dim;
  return {
    name: v.name ?? '',
    dtype,
    shape: dims ? dims.map((d) => (d.dimValue !== undefined ? d.dimValue : (d.dimParam ?? null))) : null,
  };
}

export async function readJson<T>(file: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TensorshareError('ERR_MODEL_NOT_FOUND', `${what} not found (${file})`, { file });
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new TensorshareError('ERR_CORRUPT_TENSOR', `${what} is not valid JSON (${file}): ${(e as Error).message}`, {
      file,
    });
  }
}

/** Checks the fields a reader relies on, so a damaged manifest fails loudly instead of mapping garbage. */
export function checkManifest(m: Manifest, file: string): Manifest {
  const bad = (why: string) =>
    new TensorshareError('ERR_CORRUPT_TENSOR', `manifest ${file} is invalid: ${why}`, { file });
  if (m.format !== MANIFEST_FORMAT) throw bad(`format '${m.format}' is not ${MANIFEST_FORMAT}`);
  if (!isSha256(m.digest) || !isSha256(m.graph?.sha256)) throw bad('digest or graph hash is malformed');
  if (!Array.isArray(m.tensors) || m.tensors.some((t) => !isSha256(t.sha256) || !Number.isSafeInteger(t.bytes)))
    throw bad('tensor list is malformed');
  return m;
}

/** What identifies a manifest's source bytes: its source digest, or the whole file's SHA-256 in older manifests. */
export function sourceKey(m: Manifest): string | undefined {
  return m.source.digest ?? m.source.sha256;
}

/** Unique tensor files of a manifest (a tensor may appear under several names). */
export function uniqueTensors(files: readonly FileRef[]): FileRef[] {
  const seen = new Map<string, FileRef>();
  for (const t of files) if (!seen.has(t.sha256)) seen.set(t.sha256, { sha256: t.sha256, bytes: t.bytes });
  return [...seen.values()];
}
