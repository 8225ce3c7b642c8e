// The kube-scheduler HTTP extender protocol (k8s.io/kube-scheduler/extender/v1,
// types.go): the JSON kube-scheduler POSTs to the filter and prioritize verbs
// and what it expects back. Only the fields tensorshare reads are typed; the
// rest of a Pod or Node passes through untouched.
import { TensorshareError } from '../errors.js';

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** ExtenderArgs: `nodes` when the extender is not nodeCacheCapable, `nodenames` when it is. */
export interface ExtenderArgs {
  pod: KubeObject;
  nodes?: { items?: KubeObject[]; [k: string]: unknown };
  nodenames?: string[];
}

/** ExtenderFilterResult. */
export interface ExtenderFilterResult {
  nodes?: { items: KubeObject[]; [k: string]: unknown };
  nodenames?: string[];
  failedNodes?: Record<string, string>;
  failedAndUnresolvableNodes?: Record<string, string>;
  error?: string;
}

/** HostPriority; a prioritize call answers a HostPriorityList (a JSON array of these). */
export interface HostPriority {
  host: string;
  score: number;
}

/** extenderv1.MaxExtenderPriority: scores are 0..10, weighted by the extender's `weight` in the scheduler config. */
export const MAX_EXTENDER_PRIORITY = 10;

/**
 * The arguments of a call as kube-scheduler sends them. Its Go types carry no
 * JSON tags, so the keys arrive as `Pod`, `Nodes` and `NodeNames`; Go's own
 * decoding matches keys regardless of case, and so does this.
 */
export function extenderArgs(body: unknown): ExtenderArgs {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', 'extender arguments must be a JSON object');
  const byKey = new Map(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
  const args: Record<string, unknown> = { pod: byKey.get('pod') };
  if (byKey.get('nodes') != null) args.nodes = byKey.get('nodes');
  if (byKey.get('nodenames') != null) args.nodenames = byKey.get('nodenames');
  return args as unknown as ExtenderArgs;
}

/** The candidate node names of a call, whichever form it came in. */
export function candidateNodes(args: ExtenderArgs): string[] {
  if (typeof args !== 'object' || args === null || typeof args.pod !== 'object' || args.pod === null)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', 'extender arguments need a pod');
  if (Array.isArray(args.nodenames)) return args.nodenames.map(String);
  if (Array.isArray(args.nodes?.items)) {
    return args.nodes.items.map((n, i) => {
      const name = n?.metadata?.name;
      if (typeof name !== 'string' || !name)
        throw new TensorshareError('ERR_INVALID_ARGUMENT', `nodes.items[${i}] has no metadata.name`);
      return name;
    });
  }
  throw new TensorshareError('ERR_INVALID_ARGUMENT', 'extender arguments need nodes.items or nodenames');
}

/** A filter answer keeping `keep`, in the form the call came in. */
export function filterResult(
  args: ExtenderArgs,
  keep: ReadonlySet<string>,
  failedNodes: Record<string, string>,
): ExtenderFilterResult {
  if (Array.isArray(args.nodenames)) return { nodenames: args.nodenames.filter((n) => keep.has(n)), failedNodes };
  const items = (args.nodes?.items ?? []).filter((n) => keep.has(n.metadata?.name ?? ''));
  return { nodes: { ...args.nodes, items }, failedNodes };
}
