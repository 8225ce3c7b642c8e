// Least frequently used: fewest opens first; ties go to the least recently used.
import { noPriority, sortBy, type Policy } from './types.js';

export const lfu: Policy = {
  name: 'lfu',
  order: (cs) =>
    sortBy(
      cs,
      (c) => c.hits,
      (c) => c.lastUse,
    ),
  expired: () => false,
  ...noPriority,
};
