import { TensorshareError } from '../../errors.js';
import { cost } from './cost.js';
import { eager } from './eager.js';
import { fifo } from './fifo.js';
import { lfu } from './lfu.js';
import { lru } from './lru.js';
import { never } from './never.js';
import { ttl } from './ttl.js';
import { POLICY_NAMES, type Policy, type PolicyName } from './types.js';

export * from './types.js';
export { gdsPriority } from './cost.js';

const POLICIES: Record<PolicyName, Policy> = { lru, lfu, fifo, cost, ttl, eager, never };

export function isPolicyName(s: string): s is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(s);
}

export function policy(name: string): Policy {
  if (!isPolicyName(name))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `unknown eviction policy '${name}': use one of ${POLICY_NAMES.join(', ')}`,
    );
  return POLICIES[name];
}
