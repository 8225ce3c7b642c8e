// Namespaces and who may see them. Without tenants there is one namespace,
// `default`, at the repository and store roots. With tenants, each tenant's
// models live under `<root>/tenants/<tenant>` (repository and store) and a
// `public` namespace at `<root>/public` is readable by every tenant and
// writable by tenants marked `publish`. A tenant never sees another tenant's
// namespace: references to it resolve exactly like unknown models.
import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { layout, type Layout } from '../store/layout.js';
import { parseRef, type ModelRef } from '../store/repository.js';
import { tokenDigest, type DaemonConfig, type TenantSpec } from './settings.js';

export const DEFAULT_NS = 'default';
export const PUBLIC_NS = 'public';

export interface Namespace {
  name: string;
  repo: Layout;
  store: Layout;
}

export interface Caller {
  tenant: string;
  publish: boolean;
  /** Namespaces this caller may read: its own, then public (with tenants). */
  visible: readonly string[];
  /**
   * The tenant token this caller presented (with tenants only). Held for the
   * request alone, so a peer warm-up of the tenant's model can present the
   * tenant's own rights to the peers (src/cluster); never logged or stored.
   */
  credential?: string;
}

export function namespaces(
  config: Pick<DaemonConfig, 'repository' | 'store' | 'tenants' | 'dedupAcrossTenants'>,
): Map<string, Namespace> {
  const out = new Map<string, Namespace>();
  if (config.tenants.length === 0) {
    out.set(DEFAULT_NS, { name: DEFAULT_NS, repo: layout(config.repository), store: layout(config.store) });
    return out;
  }
  const sharedTensors = layout(config.store).tensors;
  const ns = (name: string, sub: string): Namespace => {
    const store = layout(path.join(config.store, sub));
    return {
      name,
      repo: layout(path.join(config.repository, sub)),
      store: config.dedupAcrossTenants ? { ...store, tensors: sharedTensors } : store,
    };
  };
  for (const t of config.tenants) out.set(t.name, ns(t.name, path.join('tenants', t.name)));
  out.set(PUBLIC_NS, ns(PUBLIC_NS, PUBLIC_NS));
  return out;
}

/**
 * Finds the tenant whose token this is. Compares SHA-256 digests with
 * timingSafeEqual against every tenant (no early exit), so timing reveals
 * neither which tenant matched nor how much of a token was right.
 */
export function authenticate(tenants: readonly TenantSpec[], token: string | undefined): Caller | undefined {
  if (tenants.length === 0) return { tenant: DEFAULT_NS, publish: true, visible: [DEFAULT_NS] };
  const digest = tokenDigest(token ?? '');
  let found: TenantSpec | undefined;
  for (const t of tenants) {
    if (timingSafeEqual(digest, t.tokenSha256) && token) found = t;
  }
  return found && token
    ? { tenant: found.name, publish: found.publish, visible: [found.name, PUBLIC_NS], credential: token }
    : undefined;
}

/** `Bearer <token>` from the authorization metadata value. */
export function bearerToken(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m ? m[1] : undefined;
}

export interface ScopedRef extends ModelRef {
  ns: string;
}

/** Splits `[public/]name[:version]`; validates the name. */
export function scopeRef(caller: Caller, ref: string): ScopedRef {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 300)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      'model must be a non-empty string of at most 300 characters: [public/]name[:version]',
    );
  let ns = caller.tenant;
  let rest = ref;
  if (ref.startsWith(`${PUBLIC_NS}/`)) {
    ns = PUBLIC_NS;
    rest = ref.slice(PUBLIC_NS.length + 1);
  }
  return { ns, ...parseRef(rest) };
}

export function notFound(ref: string): TensorshareError {
  return new TensorshareError('ERR_MODEL_NOT_FOUND', `model '${ref}' not found`, { ref });
}

/** The namespace of a scoped ref if the caller may read it; otherwise the same NOT_FOUND an unknown model gets. */
export function readable(all: ReadonlyMap<string, Namespace>, caller: Caller, r: ScopedRef, ref: string): Namespace {
  const ns = all.get(r.ns);
  if (!ns || !caller.visible.includes(r.ns)) throw notFound(ref);
  return ns;
}

/** The namespace a caller may import into. */
export function writable(all: ReadonlyMap<string, Namespace>, caller: Caller, nsName: string): Namespace {
  const ns = all.get(nsName);
  if (!ns || !caller.visible.includes(nsName))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `namespace '${nsName}' does not exist`);
  if (nsName !== caller.tenant && !caller.publish)
    throw new TensorshareError('ERR_PERMISSION_DENIED', `tenant '${caller.tenant}' may not import into '${nsName}'`);
  return ns;
}

/** How a caller sees a model name: public ones carry their prefix. */
export function displayName(nsName: string, name: string, version?: string): string {
  const base = nsName === PUBLIC_NS ? `${PUBLIC_NS}/${name}` : name;
  return version === undefined ? base : `${base}:${version}`;
}
