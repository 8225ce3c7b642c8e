// What `tensorshare run` puts into an input the user gave no value for, so
// that a smoke test with no data still feeds the model valid values: ids stay
// below the row count of the embedding they index, masks are all ones and
// token type ids zero. Bounds are read from the stored graph.
import type { IoSpec } from '../store/manifest.js';
import type { StoredGraph } from '../store/stored-graph.js';

/** random: uniform in [0,1) for floats; index: integers in [0, below). */
export type Fill =
  | { kind: 'random' }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'index'; below: number; via: string };

const INTEGER = /^u?int(8|16|32|64)$/;
const MASK = /mask/i;
const TYPE_IDS = /(token_?type|segment)(_?ids)?$/i;
/** Ops whose output holds the values of their first input (ids pass through unchanged). */
const PASS_THROUGH = new Set(['Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten']);

/**
 * For each integer input: the number of rows of the initializer that a Gather
 * indexes with it (following casts and reshapes), if any.
 */
export function gatherBounds(
  graph: StoredGraph,
  inputs: readonly IoSpec[],
): Map<string, { below: number; via: string }> {
  const nodes = graph.node;
  const rows = new Map(graph.initializer.map((t) => [t.name ?? '', t.dims ?? []]));
  const bounds = new Map<string, { below: number; via: string }>();
  for (const input of inputs) {
    if (!INTEGER.test(input.dtype)) continue;
    const values = new Set([input.name]);
    for (const n of nodes) {
      // nodes are topologically sorted: one pass follows the chain
      const [data, indices] = n.input ?? [];
      if (
        n.opType === 'Gather' &&
        indices !== undefined &&
        values.has(indices) &&
        data !== undefined &&
        rows.has(data)
      ) {
        const axis = n.attribute?.find((a) => a.name === 'axis')?.i ?? 0;
        const below = rows.get(data)![axis];
        const known = bounds.get(input.name);
        if (below !== undefined && (!known || below < known.below))
          bounds.set(input.name, { below, via: n.name || data });
      } else if (PASS_THROUGH.has(n.opType ?? '') && data !== undefined && values.has(data)) {
        for (const o of n.output ?? []) values.add(o);
      }
    }
  }
  return bounds;
}

/**
 * The fill for an input with no value given, or undefined when no valid
 * default exists (an integer input the graph does not bound): the caller then
 * asks for a value.
 */
export function defaultFill(input: IoSpec, bound: { below: number; via: string } | undefined): Fill | undefined {
  if (!INTEGER.test(input.dtype)) return { kind: 'random' };
  if (MASK.test(input.name)) return { kind: 'ones' };
  if (TYPE_IDS.test(input.name)) return { kind: 'zeros' };
  return bound ? { kind: 'index', ...bound } : undefined;
}

/** "random ids in [0, 30522) (rows gathered by <node>)", "ones", "zeros", "random". */
export function describeFill(f: Fill): string {
  return f.kind === 'index' ? `random ids in [0, ${f.below}) (rows gathered by ${f.via})` : f.kind;
}
