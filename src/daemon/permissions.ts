// Folder modes of the roots the daemon owns. Clients read the store and never
// write it: tensor files are 0444 (store/staging.ts), folders belong to the
// daemon and are never group- or world-writable. With tenants, namespace
// folders are 0711: a client can open a file whose name its lease gave it
// (content hashes), but cannot list what other namespaces hold. Manifests,
// variants, staging and the repository are private to the daemon. This is
// isolation against other users; a client running as the daemon's own user
// can do anything the daemon can. Every folder is created, then verified
// (owner, type, mode: store/layout.ts ensureSafeDir) before the daemon uses it.
import path from 'node:path';
import { ensureLayout, ensureSafeDir } from '../store/layout.js';
import type { Namespace } from './tenants.js';

const mode = ensureSafeDir;

/** The folders the daemon claims the store with (before anything else touches it). */
export async function prepareStoreRoot(store: string): Promise<string> {
  await mode(store, 0o755);
  const own = path.join(store, '.daemon');
  await mode(own, 0o700);
  return own;
}

export async function prepareRoots(
  repository: string,
  store: string,
  nss: Iterable<Namespace>,
  tenants: boolean,
): Promise<void> {
  await mode(repository, 0o700);
  await prepareStoreRoot(store);
  const shared = tenants ? 0o711 : 0o755;
  if (tenants) {
    await mode(path.join(store, 'tenants'), 0o711);
    await mode(path.join(repository, 'tenants'), 0o700);
  }
  for (const ns of nss) {
    await ensureLayout(ns.repo);
    await ensureLayout(ns.store);
    if (ns.store.root !== path.resolve(store)) await mode(ns.store.root, shared);
    await mode(ns.store.tensors, shared);
    await mode(ns.store.graphs, shared);
    await mode(ns.store.models, tenants ? 0o700 : 0o755);
    await mode(ns.store.variants, tenants ? 0o700 : 0o755);
    await mode(ns.store.tmp, 0o700);
  }
}
