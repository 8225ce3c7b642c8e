// Least recently used: the model whose last open or release is oldest goes first.
import { noPriority, sortBy, type Policy } from './types.js';

export const lru: Policy = {
  name: 'lru',
  order: (cs) => sortBy(cs, (c) => c.lastUse),
  expired: () => false,
  ...noPriority,
};
