// The node agent's settings: flags of `tensorshare daemon` (the agent is off
// unless --agent-listen or --peers is given). One table, like the daemon's
// own settings, so `--help` and the README say the same.
import os from 'node:os';
import { TensorshareError } from '../errors.js';
import { isValidName } from '../store/layout.js';
import { parseBytes, parseDuration } from '../daemon/units.js';
import { agentUrl } from './agent-client.js';
import { createKubeApi, inClusterUrl, SERVICE_ACCOUNT_DIR, type KubeApiOptions } from './kube-api.js';
import { readAgentTls, type AgentTls } from './tls.js';
import { readTokenFile, type ClusterToken } from './token.js';

export const AGENT_TLS_FLAGS = { cert: '--agent-tls-cert', key: '--agent-tls-key', ca: '--agent-tls-ca' };

export interface AgentConfig {
  /** Where the network API listens; undefined: not at all (the daemon's socket only). */
  listen: { host: string; port: number } | undefined;
  token: ClusterToken | undefined;
  /** Mutual TLS for the agent API and peer fetches (tls.ts). */
  tls: AgentTls | undefined;
  node: string;
  peers: string[];
  peerParallel: number;
  peerIdleTimeoutMs: number;
  peerMinBytesPerSecond: number;
  /** The inventory annotation on this node's Node object (publish.ts); undefined: not published. */
  publish: { minIntervalMs: number; api: KubeApiOptions } | undefined;
}

export interface AgentSetting {
  flag: string;
  /** commander's option name. */
  option: string;
  default: string;
  description: string;
}

export const AGENT_SETTINGS: readonly AgentSetting[] = [
  {
    flag: '--agent-listen <host:port>',
    option: 'agentListen',
    default: '(off)',
    description: 'serve the node agent API (inventory, summary, tensors for peers) over HTTP here, e.g. 0.0.0.0:7070',
  },
  {
    flag: '--cluster-token-file <file>',
    option: 'clusterTokenFile',
    default: '(none; required with --agent-listen or --peers unless mutual TLS is on)',
    description: 'file holding the shared cluster token (16+ characters) every agent and extender call carries',
  },
  {
    flag: '--agent-tls-cert <file>',
    option: 'agentTlsCert',
    default: '(off)',
    description:
      "this node's certificate (PEM, signed by the cluster CA): the agent API speaks HTTPS and peers are called with it",
  },
  {
    flag: '--agent-tls-key <file>',
    option: 'agentTlsKey',
    default: '(off)',
    description: "the certificate's private key (PEM)",
  },
  {
    flag: '--agent-tls-ca <file>',
    option: 'agentTlsCa',
    default: '(off)',
    description: 'the cluster CA (PEM): agents accept only callers, and call only peers, with a certificate it signed',
  },
  {
    flag: '--node-name <name>',
    option: 'nodeName',
    default: '(the host name)',
    description: 'this node in inventories (the Kubernetes node name: the DaemonSet passes spec.nodeName)',
  },
  {
    flag: '--peers <list>',
    option: 'peers',
    default: '(none)',
    description:
      'peer agents (host:port or http://host:port, comma-separated) to fetch missing tensors from before the repository',
  },
  {
    flag: '--peer-parallel <n>',
    option: 'peerParallel',
    default: '4',
    description: 'tensor transfers from peers at a time',
  },
  {
    flag: '--peer-idle-timeout <duration>',
    option: 'peerIdleTimeout',
    default: '5s',
    description: 'a peer transfer with no byte for this long is dropped and retried elsewhere',
  },
  {
    flag: '--peer-min-rate <size>',
    option: 'peerMinRate',
    default: '4MiB',
    description: 'bytes per second under which a peer transfer is too slow (dropped and retried elsewhere)',
  },
  {
    flag: '--publish-inventory <interval>',
    option: 'publishInventory',
    default: '(off)',
    description:
      "annotate this node's Node object (tensorshare.dev/inventory: bounded summary) through the Kubernetes API, at most once per interval, e.g. 10s",
  },
  {
    flag: '--kube-api <url>',
    option: 'kubeApi',
    default: '(in a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)',
    description: 'the Kubernetes API server --publish-inventory calls',
  },
  {
    flag: '--kube-token-file <file>',
    option: 'kubeTokenFile',
    default: `${SERVICE_ACCOUNT_DIR}/token`,
    description: 'the service account token for the Kubernetes API (read again on every call: bound tokens rotate)',
  },
  {
    flag: '--kube-ca-file <file>',
    option: 'kubeCaFile',
    default: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
    description: "the CA of the Kubernetes API server's certificate",
  },
];

const bad = (flag: string, msg: string) => new TensorshareError('ERR_INVALID_ARGUMENT', `${flag}: ${msg}`);

export function parseListen(s: string, flag = '--agent-listen'): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s.trim());
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw bad(flag, `'${s}' is not host:port (e.g. 0.0.0.0:7070, 127.0.0.1:0)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The agent's config from the daemon command's options (commander's opts()). */
export function resolveAgentConfig(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): AgentConfig {
  const str = (k: string) => (opts[k] === undefined ? undefined : String(opts[k]));
  const tls = readAgentTls(
    { cert: str('agentTlsCert'), key: str('agentTlsKey'), ca: str('agentTlsCa') },
    AGENT_TLS_FLAGS,
  );
  const listen = str('agentListen') === undefined ? undefined : parseListen(str('agentListen')!);
  const peers = (str('peers') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      try {
        return agentUrl(p, tls ? 'https' : 'http');
      } catch (e) {
        throw bad('--peers', (e as Error).message);
      }
    });
  const tokenFile = str('clusterTokenFile');
  if ((listen || peers.length) && !tokenFile && !tls)
    throw bad(
      '--cluster-token-file',
      'the agent API and peer fetches are authenticated: give the file holding the shared cluster token, or mutual TLS (--agent-tls-cert, --agent-tls-key, --agent-tls-ca)',
    );
  if (tls && peers.some((p) => p.startsWith('http:')))
    throw bad('--peers', 'with mutual TLS every peer is https:// (give host:port, or https://host:port)');
  const node = str('nodeName') ?? os.hostname();
  if (!isValidName(node) && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(node))
    throw bad('--node-name', `'${node}' is not a node name`);
  const parallel = Number(str('peerParallel') ?? 4);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64)
    throw bad('--peer-parallel', `expected a whole number from 1 to 64, got '${str('peerParallel')}'`);
  const idle = parseDuration(str('peerIdleTimeout') ?? '5s', '--peer-idle-timeout');
  if (idle <= 0) throw bad('--peer-idle-timeout', 'must be more than 0');
  const rate = parseBytes(str('peerMinRate') ?? '4MiB', '--peer-min-rate');
  if (rate <= 0) throw bad('--peer-min-rate', 'must be more than 0');
  let publish: AgentConfig['publish'];
  if (str('publishInventory') !== undefined) {
    const every = parseDuration(str('publishInventory')!, '--publish-inventory');
    if (every < 1000) throw bad('--publish-inventory', 'at least 1s: every Node update reaches every watcher of Nodes');
    const url = str('kubeApi') ?? inClusterUrl(env);
    if (!url)
      throw bad(
        '--kube-api',
        'not in a pod (no KUBERNETES_SERVICE_HOST): name the Kubernetes API server to publish to',
      );
    if (!str('nodeName')) throw bad('--node-name', '--publish-inventory annotates the Node of this name: give it');
    createKubeApi({ url, tokenFile: '' }); // checks the URL now
    publish = {
      minIntervalMs: every,
      api: {
        url,
        tokenFile: str('kubeTokenFile') ?? `${SERVICE_ACCOUNT_DIR}/token`,
        caFile: str('kubeCaFile') ?? `${SERVICE_ACCOUNT_DIR}/ca.crt`,
      },
    };
  }
  return {
    publish,
    listen,
    token: tokenFile ? readTokenFile(tokenFile, '--cluster-token-file') : undefined,
    tls,
    node,
    peers,
    peerParallel: parallel,
    peerIdleTimeoutMs: idle,
    peerMinBytesPerSecond: rate,
  };
}
