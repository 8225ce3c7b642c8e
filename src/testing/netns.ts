// Network namespaces for the cluster tests: one namespace per node, joined by
// veth pairs to a bridge in a namespace of its own (so nothing touches the
// host's network), created and removed by the test. Needs root and `ip`;
// netnsUnavailable() says why not, for a skip with a reason.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { testEnv } from './env.js';

export interface NetNode {
  ns: string;
  address: string;
  /** `ip netns exec <ns>`: run a process on this node. */
  wrap: string[];
}

export interface Network {
  nodes: NetNode[];
  /** Takes node i's link down (a partition) or up again. */
  setLink(i: number, up: boolean): void;
  remove(): void;
}

const ip = (...args: string[]) =>
  execFileSync('ip', args, { env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `tsprobe${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (e) {
    return `cannot create a network namespace: ${(e as Error).message.split('\n')[0]}`;
  }
}

export function createNetwork(count: number): Network {
  const tag = randomBytes(2).toString('hex');
  const sw = `ts${tag}sw`;
  const nodes: NetNode[] = [];
  const made: string[] = [];
  const remove = () => {
    for (const ns of made.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {}
    }
    made.length = 0;
  };
  try {
    ip('netns', 'add', sw);
    made.push(sw);
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'br0', 'up');
    for (let i = 0; i < count; i++) {
      const ns = `ts${tag}n${i}`;
      ip('netns', 'add', ns);
      made.push(ns);
      const a = `ts${tag}v${i}a`;
      const b = `ts${tag}v${i}b`;
      ip('link', 'add', a, 'netns', ns, 'type', 'veth', 'peer', 'name', b, 'netns', sw);
      ip('-n', sw, 'link', 'set', b, 'master', 'br0');
      ip('-n', sw, 'link', 'set', b, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', a, 'name', 'eth0');
      const address = `10.77.0.${i + 1}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      nodes.push({ ns, address, wrap: ['ip', 'netns', 'exec', ns] });
    }
  } catch (e) {
    remove();
    throw e;
  }
  return {
    nodes,
    setLink(i, up) {
      ip('-n', nodes[i]!.ns, 'link', 'set', 'eth0', up ? 'up' : 'down');
    },
    remove,
  };
}
