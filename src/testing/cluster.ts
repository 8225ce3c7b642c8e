// Several tensorshare nodes on one machine for the cluster tests: each a real
// daemon with its own repository, tmpfs store and agent address, on loopback
// addresses or inside network namespaces (netns.ts). A node's repository can
// be thin (manifests and graphs, no tensor files), so whatever it opens must
// come from its peers.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isLiveWindowMarker } from '../store/originals.js';
import { spawnDaemon, type DaemonProc } from './daemon.js';

export const CLUSTER_TOKEN = 'cluster-token-for-tests-0123456789';

export interface ClusterNode {
  name: string;
  repository: string;
  store: string;
  daemon: DaemonProc;
  /** host:port of its agent. */
  agent: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function writeTokenFile(dir: string): Promise<string> {
  const file = path.join(dir, 'cluster.token');
  await fs.writeFile(file, `${CLUSTER_TOKEN}\n`, { mode: 0o600 });
  return file;
}

export async function startNode(o: {
  name: string;
  repository: string;
  store: string;
  /** The cluster token; optional when `flags` turn mutual TLS on. */
  tokenFile?: string;
  host: string;
  peers?: string[];
  /** More daemon flags (e.g. --peer-idle-timeout 300ms, --budget 1KiB). */
  flags?: string[];
  wrap?: string[];
}): Promise<ClusterNode> {
  const args = [
    '--repository',
    o.repository,
    '--store',
    o.store,
    '--agent-listen',
    `${o.host}:0`,
    ...(o.tokenFile ? ['--cluster-token-file', o.tokenFile] : []),
    '--node-name',
    o.name,
    '--gpus',
    'none',
    ...(o.peers?.length ? ['--peers', o.peers.join(',')] : []),
    ...(o.flags ?? []),
  ];
  const daemon = await spawnDaemon(args, { wrap: o.wrap });
  const line = await daemon.waitLog((l) => l.msg === 'agent listening');
  return {
    name: o.name,
    repository: o.repository,
    store: o.store,
    daemon,
    agent: line.agent as string,
    stop: (signal) => daemon.stop(signal),
  };
}

/** A repository with `from`'s manifests and graphs but none of its tensor files. */
export async function thinCopy(from: string, to: string): Promise<void> {
  await fs.mkdir(path.join(to, 'tensors'), { recursive: true, mode: 0o700 });
  for (const sub of ['models', 'graphs']) await fs.cp(path.join(from, sub), path.join(to, sub), { recursive: true });
  await fs.chmod(to, 0o700);
}

/** Every file in a store's tensors folder, with whether its bytes hash to its name. */
export async function checkTensors(store: string): Promise<{ hash: string; ok: boolean }[]> {
  const dir = path.join(store, 'tensors');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: { hash: string; ok: boolean }[] = [];
  for (const n of names) {
    const got = createHash('sha256')
      .update(await fs.readFile(path.join(dir, n)))
      .digest('hex');
    out.push({ hash: n, ok: got === n });
  }
  return out;
}

/** Files left in a store's staging folder (a partial transfer would show here). */
export async function stagingLeft(store: string): Promise<string[]> {
  const dir = path.join(store, 'tmp');
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    // A held lease's creation window (store/originals.ts) is not a staging leftover.
    if (e.isFile() && isLiveWindowMarker(e.name)) continue;
    if (e.isDirectory()) for (const f of await fs.readdir(path.join(dir, e.name))) out.push(path.join(e.name, f));
    else out.push(e.name);
  }
  return out;
}
