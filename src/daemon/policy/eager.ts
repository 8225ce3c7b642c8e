// Drop a model as soon as nothing references it: the least memory, and every
// open after a gap pays materialization again.
import { noPriority, sortBy, type Policy } from './types.js';

export const eager: Policy = {
  name: 'eager',
  order: (cs) => sortBy(cs, (c) => c.lastUse),
  expired: () => true,
  ...noPriority,
};
