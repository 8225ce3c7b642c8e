// The node agent beside a running daemon: its warm-up step (handed to the
// daemon before it starts, so every materialization asks peers first) and
// its network API over the daemon's manager and roots.
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { RunningDaemon } from '../daemon/daemon.js';
import type { DaemonConfig } from '../daemon/settings.js';
import { namespaces, type Caller } from '../daemon/tenants.js';
import { agentDirectory } from './agent-directory.js';
import { createAgentServer } from './agent-server.js';
import type { AgentConfig } from './agent-settings.js';
import { type NodeView, noWarmUps } from './inventory.js';
import { createWarmUp, type WarmUp } from './warm-up.js';

export function warmUpFor(agent: AgentConfig, log: Logger): WarmUp | undefined {
  if (!agent.peers.length || (!agent.token && !agent.tls)) return undefined;
  return createWarmUp({
    node: agent.node,
    peers: agentDirectory(agent.peers, { token: agent.token, tls: agent.tls, timeoutMs: 3000 }),
    parallel: agent.peerParallel,
    idleTimeoutMs: agent.peerIdleTimeoutMs,
    minBytesPerSecond: agent.peerMinBytesPerSecond,
    summaryTtlMs: 1000,
    log,
  });
}

export function nodeView(daemon: RunningDaemon, config: DaemonConfig, node: string, warmUp?: WarmUp): NodeView {
  const nss = namespaces(config);
  const everyone: Caller = { tenant: 'default', publish: false, visible: [...nss.keys()] };
  return {
    node,
    roots: [...nss.values()].map((n) => ({ ns: n.name, store: n.store, repo: n.repo })),
    async models() {
      const out: Awaited<ReturnType<NodeView['models']>> = [];
      for (const ns of nss.keys()) {
        const only: Caller = { tenant: ns, publish: false, visible: [ns] };
        for (const m of await daemon.manager.list(only))
          out.push({ model: m.model, ns, manifest: m.manifest, residentModes: m.residentModes });
      }
      return out;
    },
    capacity() {
      const s = daemon.manager.stats(everyone, false);
      return { budgetBytes: s.budget, usedBytes: s.used, reclaimableBytes: Math.max(0, s.used - s.referenced) };
    },
    warmUp: () => warmUp?.counters() ?? noWarmUps(),
  };
}

export interface RunningAgent {
  address: string;
  close(): Promise<void>;
}

export async function startAgent(
  daemon: RunningDaemon,
  config: DaemonConfig,
  agent: AgentConfig,
  warmUp: WarmUp | undefined,
): Promise<RunningAgent | undefined> {
  if (!agent.listen || (!agent.token && !agent.tls)) return undefined;
  const app = createAgentServer({
    view: nodeView(daemon, config, agent.node, warmUp),
    token: agent.token,
    tls: agent.tls,
    tenants: config.tenants,
    log: daemon.log,
  });
  await app.listen({ host: agent.listen.host, port: agent.listen.port });
  const a = app.server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  daemon.log.info(
    { agent: address, node: agent.node, peers: agent.peers, tls: agent.tls !== undefined },
    'agent listening',
  );
  return { address, close: () => app.close() };
}
