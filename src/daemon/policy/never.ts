// Never evict: resident models stay until evicted by hand (Evict RPC); an
// open that does not fit fails with RESOURCE_EXHAUSTED.
import { noPriority, type Policy } from './types.js';

export const never: Policy = {
  name: 'never',
  order: () => [],
  expired: () => false,
  ...noPriority,
};
