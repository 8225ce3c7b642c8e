// The agents behind a list of addresses. A name may stand for many agents (a
// Kubernetes headless Service resolves to every agent pod's address), so
// names are looked up again every `refreshMs` and each address found gets
// its own client; an IP literal is one agent.
import dns from 'node:dns/promises';
import net from 'node:net';
import { agentUrl, createAgentClient, type AgentClient, type AgentClientOptions } from './agent-client.js';

export interface AgentDirectory {
  /** Every agent the addresses stand for now (a name that does not resolve stands for none, and is logged by the caller's failures). */
  agents(): Promise<AgentClient[]>;
}

export function agentDirectory(
  addresses: readonly string[],
  options: AgentClientOptions & { refreshMs?: number },
): AgentDirectory {
  const urls = addresses.map((a) => agentUrl(a, options.tls ? 'https' : 'http'));
  const clients = new Map<string, AgentClient>();
  const client = (url: string) => {
    const known = clients.get(url);
    if (known) return known;
    const c = createAgentClient(url, options);
    clients.set(url, c);
    return c;
  };
  let cached: { at: number; list: Promise<AgentClient[]> } | undefined;
  const resolve = async (): Promise<AgentClient[]> => {
    const out: AgentClient[] = [];
    for (const u of urls) {
      const url = new URL(u);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (net.isIP(host) || host === 'localhost') {
        out.push(client(u));
        continue;
      }
      const found = await dns.lookup(host, { all: true }).catch(() => []);
      for (const a of found) {
        const h = a.family === 6 ? `[${a.address}]` : a.address;
        out.push(client(`${url.protocol}//${h}:${url.port}`));
      }
    }
    return [...new Set(out)];
  };
  return {
    agents() {
      if (!cached || performance.now() - cached.at > (options.refreshMs ?? 5000))
        cached = { at: performance.now(), list: resolve() };
      return cached.list;
    },
  };
}
