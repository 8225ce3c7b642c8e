// The store as the dashboard shows it: every model version of the repository
// (the disk tier) with its logical, shared and exclusive bytes, where it is
// resident (the store on tmpfs: host memory; GPUs from the daemon's devices
// file), the bytes each pair of versions shares (fine-tuned families share
// most of their tensors), and the store's logical vs physical size.
import type { DaemonView } from '../../client/daemon-view.js';
import type { DevicesStatus } from '../../device/protocol.js';
import type { Manifest } from '../../store/manifest.js';
import { du } from '../../store/maintenance.js';
import { isResident } from '../../store/materialize.js';
import { layout } from '../../store/layout.js';
import { listModels } from '../../store/repository.js';
import type { StoreModel, StoreView } from './model.js';

/** A matrix over more versions than this is not readable: the largest ones are kept. */
export const MAX_SHARING_MODELS = 32;

export async function readStoreView(o: {
  repository: string;
  store: string;
  daemon: DaemonView | null;
  devices: DevicesStatus | undefined;
}): Promise<StoreView> {
  const repo = layout(o.repository);
  const store = layout(o.store);
  const [manifests, repoUsage, storeUsage] = await Promise.all([listModels(repo), du(repo), du(store)]);
  const usage = new Map(repoUsage.models.map((m) => [m.ref, m]));
  // The daemon knows what is resident in every mode (a fast-run variant's files are not the model's own).
  const leases = new Map<string, number>();
  for (const m of o.daemon?.models ?? []) leases.set(m.model, (leases.get(m.model) ?? 0) + m.leases);
  const models = await Promise.all(
    manifests.map(async (m): Promise<StoreModel> => {
      const ref = `${m.name}:${m.version}`;
      const u = usage.get(ref);
      return {
        ref,
        name: m.name,
        version: m.version,
        tensors: m.tensors.length,
        logicalBytes: u?.logicalBytes ?? 0,
        exclusiveBytes: u?.exclusiveBytes ?? 0,
        sharedBytes: u?.sharedBytes ?? 0,
        tiers: {
          disk: true,
          host: leases.has(ref) || (await isResident(store, m)),
          gpus: (o.devices?.devices ?? [])
            .filter((d) => d.models.some((r) => r.model === ref || r.model === m.name))
            .map((d) => d.index),
        },
        leases: leases.get(ref) ?? 0,
      };
    }),
  );
  models.sort((a, b) => a.ref.localeCompare(b.ref));
  const b = o.daemon;
  return {
    logicalBytes: repoUsage.logicalBytes,
    physicalBytes: repoUsage.physicalBytes,
    residentBytes: o.daemon?.usedBytes ?? storeUsage.physicalBytes + storeUsage.variantBytes,
    models,
    sharing: sharingMatrix(manifests),
    budget: b
      ? { budgetBytes: b.budgetBytes, usedBytes: b.usedBytes, evictions: b.evictions, evictedBytes: b.evictedBytes }
      : null,
  };
}

/** Bytes of the distinct files (graph, tensors) each pair of model versions has in common. */
export function sharingMatrix(manifests: readonly Manifest[]): StoreView['sharing'] {
  const files = manifests
    .map((m) => {
      const sizes = new Map<string, number>();
      for (const f of [m.graph, ...m.tensors]) sizes.set(f.sha256, f.bytes);
      return { ref: `${m.name}:${m.version}`, sizes, bytes: [...sizes.values()].reduce((a, x) => a + x, 0) };
    })
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, MAX_SHARING_MODELS)
    .sort((a, b) => a.ref.localeCompare(b.ref));
  const bytes = files.map((a) =>
    files.map((b) => {
      let shared = 0;
      for (const [sha, n] of a.sizes) if (b.sizes.has(sha)) shared += n;
      return shared;
    }),
  );
  return { refs: files.map((f) => f.ref), bytes };
}
