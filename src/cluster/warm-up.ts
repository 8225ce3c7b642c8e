// Peer-to-peer warm-up: the step the daemon runs before it copies a model
// from its repository into the store. It reads the peers' summaries (cached
// briefly), fetches the tensors the store lacks from peers that hold them
// (peer-fetch.ts), and leaves the rest to the repository copy that follows.
// Peer trouble never fails an Open while the repository has the bytes; when
// it has not either, the error names the tensor, the peers tried and why.
import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import { TensorshareError } from '../errors.js';
import { tensorPath, type Layout } from '../store/layout.js';
import { uniqueTensors, type FileRef, type Manifest, type VariantManifest } from '../store/manifest.js';
import type { AgentClient } from './agent-client.js';
import type { AgentDirectory } from './agent-directory.js';
import { fastRunKey } from '../store/fast-run.js';
import { hashSetLookup } from './hash-set.js';
import { type Summary, type WarmUpCounters, noWarmUps } from './inventory.js';
import { fetchFromPeers, type PeerFetchReport, type PeerSource } from './peer-fetch.js';

export interface WarmUpOptions {
  /** This node's name: a peer list that includes this node's own agent is fine. */
  node: string;
  peers: AgentDirectory;
  parallel: number;
  idleTimeoutMs: number;
  minBytesPerSecond: number;
  /** How long a peer's summary is reused. */
  summaryTtlMs: number;
  log: Logger;
}

/** The namespaces a peer serves to any admitted node (rights.ts); a tenant's need the tenant's own token. */
const OPEN_NAMESPACES = new Set(['default', 'public']);

export interface WarmUpContext {
  /** The token of the tenant whose open asks for the model: presented to peers for its namespace's tensors. */
  credential?: string;
  /** Warm up this fast-run variant's files instead of the model's own. */
  variant?: VariantManifest;
}

export interface WarmUp {
  /** Fetches what `m` (or `ctx.variant`) lacks in `ns`'s store from peers; then the repository copy does the rest. */
  fetchMissing(
    ns: { name: string; store: Layout; repo: Layout },
    m: Manifest,
    ctx?: WarmUpContext,
  ): Promise<PeerFetchReport | undefined>;
  counters(): WarmUpCounters;
}

const fastRunKeyOf = (v: VariantManifest) => fastRunKey(v.ortVersion, v.target);

const exists = (p: string) =>
  fs.access(p).then(
    () => true,
    () => false,
  );

export function createWarmUp(o: WarmUpOptions): WarmUp {
  const counters: WarmUpCounters = noWarmUps();
  const summaries = new Map<AgentClient, { at: number; summary: Promise<Summary> }>();

  function summaryOf(peer: AgentClient, fresh: boolean): Promise<Summary> {
    const cached = summaries.get(peer);
    if (cached && !fresh && performance.now() - cached.at < o.summaryTtlMs) return cached.summary;
    const summary = peer.summary();
    summaries.set(peer, { at: performance.now(), summary });
    summary.catch(() => summaries.delete(peer));
    return summary;
  }

  async function sources(ns: string, credential: string | undefined, fresh = false): Promise<PeerSource[]> {
    const all = await o.peers.agents();
    const got = await Promise.allSettled(all.map(async (p) => ({ p, s: await summaryOf(p, fresh) })));
    const out: PeerSource[] = [];
    for (const [i, g] of got.entries()) {
      if (g.status === 'rejected') {
        o.log.warn({ peer: all[i]!.url, err: (g.reason as Error).message }, 'peer summary unavailable');
        continue;
      }
      const { p, s } = g.value;
      if (s.node === o.node) continue;
      let holds: (h: string) => boolean;
      try {
        holds = hashSetLookup(s.resident);
      } catch (e) {
        o.log.warn({ peer: p.url, err: (e as Error).message }, 'peer summary unusable');
        continue;
      }
      out.push({ name: s.node, holds, open: (hash, signal) => p.tensor(hash, ns, signal, credential) });
    }
    return out;
  }

  return {
    counters: () => ({ ...counters }),
    async fetchMissing(ns, m, ctx = {}) {
      const missing: FileRef[] = [];
      const files = ctx.variant?.tensors ?? m.tensors;
      for (const t of uniqueTensors(files)) if (!(await exists(tensorPath(ns.store, t.sha256)))) missing.push(t);
      if (!missing.length) return undefined;
      counters.warmUps++;
      // A tenant's tensors are served only to its own token: without one (a pin restored at start-up) the
      // repository copies them.
      const mayAsk = OPEN_NAMESPACES.has(ns.name) || ctx.credential !== undefined;
      const tenantToken = OPEN_NAMESPACES.has(ns.name) ? undefined : ctx.credential;
      let peers = mayAsk ? await sources(ns.name, tenantToken) : [];
      // A summary reused from the cache may predate what a peer holds now (a model just made resident
      // there): before leaving a tensor to the repository for want of a peer, ask the peers again once.
      if (mayAsk && missing.some((t) => !peers.some((p) => p.holds(t.sha256))))
        peers = await sources(ns.name, tenantToken, true);
      const report = await fetchFromPeers({
        store: ns.store,
        tensors: missing,
        peers,
        parallel: o.parallel,
        idleTimeoutMs: o.idleTimeoutMs,
        minBytesPerSecond: o.minBytesPerSecond,
      });
      counters.tensorsFromPeers += report.fetched.length;
      counters.bytesFromPeers += report.bytesFromPeers;
      counters.peerFailures += report.failures.length;
      counters.tensorsFromRepository += report.left.length;
      counters.bytesFromRepository += report.left.reduce((a, t) => a + t.bytes, 0);
      for (const f of report.failures) o.log.warn({ model: m.name, ...f }, 'peer transfer failed; retrying elsewhere');
      o.log.info(
        {
          model: `${m.name}:${m.version}`,
          ...(ctx.variant ? { variant: fastRunKeyOf(ctx.variant) } : {}),
          ns: ns.name,
          fromPeers: report.fetched.length,
          bytesFromPeers: report.bytesFromPeers,
          bytesByPeer: report.bytesByPeer,
          fromRepository: report.left.length,
          failures: report.failures.length,
          ms: Math.round(report.ms),
        },
        'warm-up',
      );
      for (const t of report.left) {
        if (await exists(tensorPath(ns.repo, t.sha256))) continue;
        const what = ctx.variant ? `fast-run variant of '${m.name}:${m.version}'` : `model '${m.name}:${m.version}'`;
        const tried = report.failures.filter((f) => f.hash === t.sha256).map((f) => f.message);
        throw new TensorshareError(
          'ERR_UNAVAILABLE',
          `tensor ${t.sha256} of ${what} (${t.bytes} bytes) is on no reachable peer ` +
            `(${peers.length} peer${peers.length === 1 ? '' : 's'} answered${tried.length ? `; ${tried.join('; ')}` : ''}) ` +
            `and not in the repository ${ns.repo.root}`,
          { hash: t.sha256, model: m.name, failures: tried },
        );
      }
      return report;
    },
  };
}
