// First in, first out: the model that became resident earliest goes first,
// however often it is used.
import { noPriority, sortBy, type Policy } from './types.js';

export const fifo: Policy = {
  name: 'fifo',
  order: (cs) => sortBy(cs, (c) => c.loadedAt),
  expired: () => false,
  ...noPriority,
};
