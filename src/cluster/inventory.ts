// What a node holds: the tensors resident in its store and present in its
// repository (hash and size, per namespace), its models with the fraction of
// each that is resident, and its free budget. `summarize` makes the bounded
// form the scheduler extender and peers read: per-model fractions plus
// hash-set digests, a few KiB for thousands of tensors.
import fs from 'node:fs/promises';
import path from 'node:path';
import { isSha256, type Layout } from '../store/layout.js';
import type { Manifest } from '../store/manifest.js';
import { uniqueTensors } from '../store/manifest.js';
import { digestHashes, type HashSetDigest } from './hash-set.js';

export interface TensorHolding {
  ns: string;
  hash: string;
  bytes: number;
}

export interface ModelHolding {
  /** The model as a client names it (`name:version`, `public/name:version`), with its namespace. */
  model: string;
  ns: string;
  digest: string;
  /** Unique tensor bytes. */
  bytes: number;
  residentBytes: number;
  residentModes: string[];
}

export interface Capacity {
  budgetBytes: number;
  usedBytes: number;
  /** Bytes of resident units nothing references: eviction can free them for a new model. */
  reclaimableBytes: number;
}

export interface WarmUpCounters {
  warmUps: number;
  tensorsFromPeers: number;
  bytesFromPeers: number;
  /** Transfers that failed (dead, slow or lying peer) and were retried elsewhere. */
  peerFailures: number;
  tensorsFromRepository: number;
  bytesFromRepository: number;
}

/** Counters of a node that has warmed nothing up yet (or runs no warm-up). */
export function noWarmUps(): WarmUpCounters {
  return {
    warmUps: 0,
    tensorsFromPeers: 0,
    bytesFromPeers: 0,
    peerFailures: 0,
    tensorsFromRepository: 0,
    bytesFromRepository: 0,
  };
}

export interface Inventory {
  format: 'tensorshare.inventory/v1';
  node: string;
  capacity: Capacity;
  /** budget - used + reclaimable: what a new model can take. */
  freeBytes: number;
  resident: TensorHolding[];
  repository: TensorHolding[];
  models: ModelHolding[];
  warmUp: WarmUpCounters;
}

export interface Summary {
  format: 'tensorshare.summary/v1';
  node: string;
  capacity: Capacity;
  freeBytes: number;
  residentTensors: number;
  residentBytes: number;
  resident: HashSetDigest;
  repository: HashSetDigest;
  /** Models with a resident part, most resident first; at most MAX_SUMMARY_MODELS. */
  models: { model: string; digest: string; bytes: number; residentFraction: number }[];
  /** Models left out of `models` by the bound. */
  modelsLeftOut: number;
  warmUp: WarmUpCounters;
}

export const MAX_SUMMARY_MODELS = 256;

/** The namespaces' roots and models, as the daemon sees them. */
export interface NodeView {
  node: string;
  roots: ReadonlyArray<{ ns: string; store: Layout; repo: Layout }>;
  models(): Promise<{ model: string; ns: string; manifest: Manifest; residentModes: string[] }[]>;
  capacity(): Capacity;
  warmUp(): WarmUpCounters;
}

/** Tensor files in a folder: content-addressed names, sizes from stat. A folder that does not exist holds nothing. */
async function scanTensors(dir: string, ns: string): Promise<TensorHolding[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: TensorHolding[] = [];
  for (const name of names) {
    if (!isSha256(name)) continue;
    const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile()) out.push({ ns, hash: name, bytes: st.size });
  }
  return out;
}

export async function takeInventory(view: NodeView): Promise<Inventory> {
  const resident: TensorHolding[] = [];
  const repository: TensorHolding[] = [];
  // With dedupAcrossTenants, namespaces share one tensors folder: scan it once.
  const seen = new Set<string>();
  for (const r of view.roots) {
    for (const [dir, into] of [
      [r.store.tensors, resident],
      [r.repo.tensors, repository],
    ] as const) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      into.push(...(await scanTensors(dir, r.ns)));
    }
  }
  const residentSet = new Set(resident.map((t) => t.hash));
  const models = (await view.models()).map((m): ModelHolding => {
    const tensors = uniqueTensors(m.manifest.tensors);
    return {
      model: m.model,
      ns: m.ns,
      digest: m.manifest.digest,
      bytes: tensors.reduce((a, t) => a + t.bytes, 0),
      residentBytes: tensors.filter((t) => residentSet.has(t.sha256)).reduce((a, t) => a + t.bytes, 0),
      residentModes: m.residentModes,
    };
  });
  const capacity = view.capacity();
  return {
    format: 'tensorshare.inventory/v1',
    node: view.node,
    capacity,
    freeBytes: freeOf(capacity),
    resident,
    repository,
    models,
    warmUp: view.warmUp(),
  };
}

export const freeOf = (c: Capacity) => Math.max(0, c.budgetBytes - c.usedBytes + c.reclaimableBytes);

export function summarize(inv: Inventory): Summary {
  const withResident = inv.models
    .filter((m) => m.residentBytes > 0)
    .sort(
      (a, b) => b.residentBytes / (b.bytes || 1) - a.residentBytes / (a.bytes || 1) || (a.model < b.model ? -1 : 1),
    );
  return {
    format: 'tensorshare.summary/v1',
    node: inv.node,
    capacity: inv.capacity,
    freeBytes: inv.freeBytes,
    residentTensors: inv.resident.length,
    residentBytes: inv.resident.reduce((a, t) => a + t.bytes, 0),
    resident: digestHashes(inv.resident.map((t) => t.hash)),
    repository: digestHashes(inv.repository.map((t) => t.hash)),
    models: withResident.slice(0, MAX_SUMMARY_MODELS).map((m) => ({
      model: m.model,
      digest: m.digest,
      bytes: m.bytes,
      residentFraction: m.bytes ? Math.round((m.residentBytes / m.bytes) * 1e4) / 1e4 : 1,
    })),
    modelsLeftOut: Math.max(0, withResident.length - MAX_SUMMARY_MODELS),
    warmUp: inv.warmUp,
  };
}
