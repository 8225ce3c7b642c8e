// GreedyDual-Size (Cao & Irani 1997). Each model carries H = L + cost/size,
// set when it is opened or loaded; the lowest H goes first and L rises to the
// victim's H, so models not touched for a while age out relative to fresh
// ones. cost is the measured time to make the model resident (ms), size its
// bytes (MiB): a model that is slow to bring back per byte it occupies stays
// longer, a big cheap one goes sooner.
import { sortBy, type Candidate, type Policy, type PolicyContext } from './types.js';

const MIB = 1024 * 1024;

export function gdsPriority(c: Candidate, ctx: PolicyContext): number {
  return ctx.inflation + Math.max(c.costMs, 0.001) / Math.max(c.bytes / MIB, 1 / MIB);
}

export const cost: Policy = {
  name: 'cost',
  order: (cs) =>
    sortBy(
      cs,
      (c) => c.priority,
      (c) => c.lastUse,
    ),
  expired: () => false,
  onAccess: gdsPriority,
  onEvict: (victim, ctx) => Math.max(ctx.inflation, victim.priority),
};
