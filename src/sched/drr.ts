// Deficit round robin over tenants, with service time as the cost. Each visit
// in the round grants a tenant `quantum * weight` ms of credit; a tenant is
// served while its deficit is positive. Costs are charged as they become
// known (the dispatcher charges the predicted time at dispatch and the
// difference to the measured time at completion), so a deficit may go
// negative: the tenant then sits out rounds until the credit catches up.
// Over a long backlog each tenant's CPU time converges to its weight share.

import { TensorshareError } from '../errors.js';

export interface DrrState {
  /** Backlogged tenants in round order. */
  order: string[];
  /** Index in `order` of the tenant being visited. */
  ptr: number;
  /** Whether the visited tenant already got this visit's quantum. */
  granted: boolean;
  /** Credit per tenant, ms. Kept when a tenant goes idle, but positive credit is dropped then. */
  deficit: Map<string, number>;
}

export function drrCreate(): DrrState {
  return { order: [], ptr: 0, granted: false, deficit: new Map() };
}

/** A tenant with queued work joins the end of the round. */
export function drrActivate(s: DrrState, tenant: string): void {
  if (s.order.includes(tenant)) return;
  s.order.push(tenant);
  if (!s.deficit.has(tenant)) s.deficit.set(tenant, 0);
}

/** A tenant with nothing queued leaves the round; unused credit is not banked (debt is kept). */
export function drrDeactivate(s: DrrState, tenant: string): void {
  const i = s.order.indexOf(tenant);
  if (i < 0) return;
  s.order.splice(i, 1);
  s.deficit.set(tenant, Math.min(0, s.deficit.get(tenant) ?? 0));
  if (i < s.ptr) s.ptr--;
  else if (i === s.ptr) s.granted = false;
  if (s.ptr >= s.order.length) s.ptr = 0;
}

export function drrCharge(s: DrrState, tenant: string, ms: number): void {
  s.deficit.set(tenant, (s.deficit.get(tenant) ?? 0) - ms);
}

/**
 * The tenant to serve next among those `ready` (some of its work can be
 * dispatched now), or null when none is. Advances the round.
 */
export function drrPick(
  s: DrrState,
  ready: (t: string) => boolean,
  weight: (t: string) => number,
  quantumMs: number,
): string | null {
  if (!s.order.some(ready)) return null;
  const credit = (t: string) => quantumMs * weight(t);
  for (let visits = 0; ; visits++) {
    if (s.ptr >= s.order.length) s.ptr = 0;
    const t = s.order[s.ptr];
    // Unreachable: the round is non-empty (some tenant is ready) and ptr was just wrapped into it.
    if (t === undefined)
      throw new TensorshareError('ERR_INTERNAL', `drr pointer ${s.ptr} is outside a round of ${s.order.length}`);
    if (!s.granted) {
      s.deficit.set(t, s.deficit.get(t)! + credit(t));
      s.granted = true;
    }
    if (ready(t) && s.deficit.get(t)! > 0) return t;
    s.ptr++;
    s.granted = false;
    if (visits > 0 && visits % s.order.length === 0) fastForward(s, ready, credit);
  }
}

// After a full round with no pick every ready tenant is in debt. Grant the
// whole rounds that would pass before the first of them gets positive credit,
// at once, instead of spinning through them.
function fastForward(s: DrrState, ready: (t: string) => boolean, credit: (t: string) => number): void {
  let rounds = Infinity;
  for (const t of s.order) {
    if (!ready(t)) continue;
    rounds = Math.min(rounds, Math.floor(-s.deficit.get(t)! / credit(t)));
  }
  if (!(rounds > 0 && Number.isFinite(rounds))) return;
  for (const t of s.order) s.deficit.set(t, s.deficit.get(t)! + rounds * credit(t));
}
