// Keep-alive window: a model stays resident for ttlMs after its last
// reference ends, then the reclaimer drops it. Under pressure, the one
// released longest ago goes first.
import { noPriority, sortBy, type Policy } from './types.js';

export const ttl: Policy = {
  name: 'ttl',
  order: (cs) => sortBy(cs, (c) => c.lastRelease),
  expired: (c, ctx) => ctx.now - c.lastRelease >= ctx.ttlMs,
  ...noPriority,
};
