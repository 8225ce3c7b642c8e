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
import { type NodeView, noWarmUps, takeInventory } from './inventory.js';
import { createKubeApi } from './kube-api.js';
import { createPublisher, type Publisher } from './publish.js';
import { openSummary } from './rights.js';
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

/** Publishing the inventory annotation at most every `minIntervalMs`; unchanged, again every 10 of them. */
function startPublisher(view: NodeView, config: DaemonConfig, agent: AgentConfig, log: Logger): Publisher | undefined {
  if (!agent.publish) return undefined;
  const api = createKubeApi(agent.publish.api);
  const p = createPublisher({
    api,
    node: agent.node,
    minIntervalMs: agent.publish.minIntervalMs,
    refreshMs: agent.publish.minIntervalMs * 10,
    log,
    async snapshot() {
      const inv = await takeInventory(view);
      return { summary: openSummary(inv, config.tenants), residentHashes: inv.resident.map((t) => t.hash) };
    },
  });
  p.start();
  log.info({ node: agent.node, api: api.url, everyMs: agent.publish.minIntervalMs }, 'publishing inventory annotation');
  return p;
}

export async function startAgent(
  daemon: RunningDaemon,
  config: DaemonConfig,
  agent: AgentConfig,
  warmUp: WarmUp | undefined,
): Promise<RunningAgent | undefined> {
  const view = nodeView(daemon, config, agent.node, warmUp);
  const publisher = startPublisher(view, config, agent, daemon.log);
  if (!agent.listen || (!agent.token && !agent.tls))
    return publisher && { address: '', close: async () => publisher.stop() };
  const app = createAgentServer({
    view,
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
  return {
    address,
    close: async () => {
      publisher?.stop();
      await app.close();
    },
  };
}
