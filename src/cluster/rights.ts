// Who may read what over the agent API. The cluster token (or a client
// certificate, tls.ts) admits a caller to the agent at all; tenants' rights
// decide which tensors it may read and which namespaces its inventory shows:
//
// - without tenants, the one namespace (`default`) is the cluster's: every
//   admitted peer may read it;
// - `public` is readable by every tenant, so its tensors are shareable with
//   every admitted peer (a node warming a public model needs no tenant's
//   rights);
// - a tenant's namespace is read only with that tenant's own token
//   (x-tensorshare-tenant-token), checked against this daemon's tenant
//   config, and a tensor of it is served only when one of the tenant's
//   models or fast-run variants names it. The last rule matters with
//   --dedup-across-tenants, where every namespace's store shares one tensors
//   folder: a file there is nobody's in particular, and asking for it as
//   `public` must not hand out a tensor only a tenant's models use.
//
// A refusal answers exactly like a tensor the node lacks (404), so a caller
// learns nothing about what it may not read.
import type { TenantSpec } from '../daemon/settings.js';
import { authenticate, bearerToken, DEFAULT_NS, PUBLIC_NS } from '../daemon/tenants.js';
import type { Layout } from '../store/layout.js';
import { listModels, listVariants } from '../store/repository.js';
import { summarize, type Inventory, type NodeView, type Summary, type TensorHolding } from './inventory.js';

export const TENANT_TOKEN_HEADER = 'x-tensorshare-tenant-token';

export interface Rights {
  /** Namespaces a caller presenting this tenant header may see (inventory) and read (tensors). */
  visible(tenantHeader: string | undefined): string[];
  /** Whether the caller may read the tensor `hash` as namespace `ns`. */
  mayRead(ns: string, hash: string, tenantHeader: string | undefined): Promise<boolean>;
  /** The inventory as this caller may see it: entries of namespaces it may not read left out, shared files named by a namespace it may read. */
  inventoryFor(inv: Inventory, tenantHeader: string | undefined): Promise<Inventory>;
}

/** Hashes a namespace's models and their variants name, in its repository and its store. */
async function referenced(roots: readonly Layout[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const root of roots) {
    for (const m of await listModels(root)) {
      for (const t of m.tensors) out.add(t.sha256);
      for (const v of await listVariants(root, m.digest)) for (const t of v.tensors ?? []) out.add(t.sha256);
    }
  }
  return out;
}

/** A refusal re-reads the namespace's manifests at most this often (a model or variant just written there). */
const RECHECK_MS = 100;

/** Namespaces whose models any admitted caller may see by name: `default` without tenants, `public` with them. */
export function openNamespaces(tenants: readonly TenantSpec[]): string[] {
  return tenants.length === 0 ? [DEFAULT_NS] : [PUBLIC_NS];
}

/** The bounded summary as every admitted caller (and every reader of the Node annotation) may see it. */
export function openSummary(inv: Inventory, tenants: readonly TenantSpec[]): Summary {
  const open = new Set(openNamespaces(tenants));
  return summarize({ ...inv, models: inv.models.filter((m) => open.has(m.ns)) });
}

export function createRights(view: Pick<NodeView, 'roots'>, tenants: readonly TenantSpec[], ttlMs = 1000): Rights {
  const roots = new Map(view.roots.map((r) => [r.ns, r]));
  const cache = new Map<string, { at: number; refs: Promise<Set<string>> }>();
  const refsOf = (ns: string, maxAgeMs = ttlMs): Promise<Set<string>> => {
    const hit = cache.get(ns);
    if (hit && performance.now() - hit.at < maxAgeMs) return hit.refs;
    const r = roots.get(ns)!;
    const refs = referenced([r.repo, r.store]);
    cache.set(ns, { at: performance.now(), refs });
    refs.catch(() => cache.delete(ns));
    return refs;
  };

  const visible = (tenantHeader: string | undefined): string[] => {
    const caller = tenantHeader === undefined ? undefined : authenticate(tenants, bearerToken(tenantHeader));
    return tenants.length > 0 && caller ? [caller.tenant, PUBLIC_NS] : openNamespaces(tenants);
  };

  return {
    visible,
    async mayRead(ns, hash, tenantHeader) {
      if (!roots.has(ns) || !visible(tenantHeader).includes(ns)) return false;
      if (tenants.length === 0) return true;
      return (await refsOf(ns)).has(hash) || (await refsOf(ns, RECHECK_MS)).has(hash);
    },
    async inventoryFor(inv, tenantHeader) {
      if (tenants.length === 0) return inv;
      const nss = visible(tenantHeader).filter((n) => roots.has(n));
      const refs = new Map(await Promise.all(nss.map(async (n) => [n, await refsOf(n)] as const)));
      const keep = (list: TensorHolding[]): TensorHolding[] => {
        const seen = new Set<string>();
        const out: TensorHolding[] = [];
        for (const t of list) {
          // The entry's own namespace when it may be read and names the file, else the first that does.
          const ns = refs.get(t.ns)?.has(t.hash) ? t.ns : nss.find((n) => refs.get(n)!.has(t.hash));
          if (!ns || seen.has(`${ns} ${t.hash}`)) continue;
          seen.add(`${ns} ${t.hash}`);
          out.push({ ...t, ns });
        }
        return out;
      };
      return {
        ...inv,
        resident: keep(inv.resident),
        repository: keep(inv.repository),
        models: inv.models.filter((m) => nss.includes(m.ns)),
      };
    },
  };
}
