// Fetches tensors a store lacks from peers that hold them, several at once:
// each tensor streams into a staging file of the store while it is hashed,
// and lands by rename (store/staging.ts) only when its length and SHA-256
// match what the manifest names. A peer that breaks off, stalls, or sends
// wrong bytes is dropped for the rest of the run and the tensor is tried on
// another; what no peer delivers is left for the durable repository. Nothing
// partial or wrong ever reaches the store's tensors folder.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TensorshareError, isTensorshareError, rethrowNoSpace } from '../errors.js';
import { ensureLayout, tensorPath, type Layout } from '../store/layout.js';
import { withLock } from '../store/lock.js';
import type { FileRef } from '../store/manifest.js';
import { commitFile, createStaging } from '../store/staging.js';
import type { TensorStream } from './agent-client.js';

export interface PeerSource {
  /** Names the peer in reports and logs. */
  name: string;
  /** Whether the peer says it holds the tensor (a digest: may be wrong, see hash-set.ts). */
  holds(hash: string): boolean;
  open(hash: string, signal: AbortSignal): Promise<TensorStream>;
}

export interface PeerFetchOptions {
  store: Layout;
  /** Tensors to fetch (unique hashes, missing from the store). */
  tensors: readonly FileRef[];
  peers: readonly PeerSource[];
  /** Transfers at a time, over all peers. */
  parallel: number;
  /** A transfer with no byte for this long is a stalled peer. */
  idleTimeoutMs: number;
  /** A transfer slower than this on average (after idleTimeoutMs of grace) is a slow peer. */
  minBytesPerSecond: number;
}

export interface PeerFailure {
  peer: string;
  hash: string;
  code: string;
  message: string;
}

export interface PeerFetchReport {
  fetched: { hash: string; bytes: number; peer: string }[];
  /** Tensors no peer delivered: the caller copies them from the repository. */
  left: FileRef[];
  failures: PeerFailure[];
  bytesFromPeers: number;
  bytesByPeer: Record<string, number>;
  ms: number;
}

/** Why a transfer failed: `miss` (the peer lacks it: try another, keep the peer) or `bad` (drop the peer). */
type Outcome = { ok: true } | { ok: false; kind: 'miss' | 'bad'; code: string; message: string };

export async function fetchFromPeers(o: PeerFetchOptions): Promise<PeerFetchReport> {
  const t0 = performance.now();
  const report: PeerFetchReport = { fetched: [], left: [], failures: [], bytesFromPeers: 0, bytesByPeer: {}, ms: 0 };
  if (!o.tensors.length || !o.peers.length) {
    report.left = [...o.tensors];
    return report;
  }
  await ensureLayout(o.store);
  const staging = await createStaging(o.store);
  const dropped = new Set<string>();
  const inflight = new Map<string, number>(o.peers.map((p) => [p.name, 0]));
  const tried = new Map<string, Set<string>>();
  // Largest first, so the long transfers start early and spread over the peers.
  const queue = [...o.tensors].sort((a, b) => b.bytes - a.bytes);
  let seq = 0;

  const pick = (t: FileRef): PeerSource | undefined => {
    const done = tried.get(t.sha256);
    let best: PeerSource | undefined;
    for (const p of o.peers) {
      if (dropped.has(p.name) || done?.has(p.name) || !p.holds(t.sha256)) continue;
      if (!best || inflight.get(p.name)! < inflight.get(best.name)!) best = p;
    }
    return best;
  };

  async function transfer(p: PeerSource, t: FileRef): Promise<Outcome> {
    const file = path.join(staging, `p${seq++}`);
    const ac = new AbortController();
    let stalled = false;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stalled = true;
        ac.abort();
      }, o.idleTimeoutMs);
    };
    const deadlineMs = o.idleTimeoutMs + (t.bytes / o.minBytesPerSecond) * 1000;
    let slow = false;
    const deadline = setTimeout(() => {
      slow = true;
      ac.abort();
    }, deadlineMs);
    const bad = (code: string, message: string): Outcome => ({ ok: false, kind: 'bad', code, message });
    let fh: fs.FileHandle | undefined;
    try {
      armIdle();
      const stream = await p.open(t.sha256, ac.signal);
      if (stream.length !== t.bytes) {
        ac.abort();
        return bad('ERR_CORRUPT_TENSOR', `announced ${stream.length} bytes, the manifest says ${t.bytes}`);
      }
      fh = await fs.open(file, 'wx', 0o644);
      const hash = createHash('sha256');
      let n = 0;
      for await (const chunk of stream.body) {
        armIdle();
        n += chunk.length;
        if (n > t.bytes) {
          ac.abort();
          return bad('ERR_CORRUPT_TENSOR', `sent more than the ${t.bytes} bytes announced`);
        }
        hash.update(chunk);
        try {
          await fh.write(chunk);
        } catch (e) {
          rethrowNoSpace(e, o.store.root);
        }
      }
      await fh.close();
      fh = undefined;
      if (n !== t.bytes) return bad('ERR_UNAVAILABLE', `broke off after ${n} of ${t.bytes} bytes`);
      const got = hash.digest('hex');
      if (got !== t.sha256) return bad('ERR_CORRUPT_TENSOR', `sent bytes whose SHA-256 is ${got}`);
      await withLock(o.store, () => commitFile(file, tensorPath(o.store, t.sha256)));
      return { ok: true };
    } catch (e) {
      // A store that is full is the caller's problem, not the peer's.
      if (isTensorshareError(e, 'ERR_NO_SPACE')) throw e;
      if (stalled) return bad('ERR_TIMEOUT', `sent nothing for ${o.idleTimeoutMs} ms`);
      if (slow)
        return bad('ERR_TIMEOUT', `slower than ${o.minBytesPerSecond} bytes/s (deadline ${Math.round(deadlineMs)} ms)`);
      if (isTensorshareError(e, 'ERR_MODEL_NOT_FOUND'))
        return { ok: false, kind: 'miss', code: e.code, message: e.message };
      const code = e instanceof TensorshareError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'ERR_UNAVAILABLE');
      return bad(code, (e as Error).message);
    } finally {
      clearTimeout(idle);
      clearTimeout(deadline);
      await fh?.close().catch(() => {});
      await fs.rm(file, { force: true });
    }
  }

  async function worker(): Promise<void> {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const p = pick(t);
      if (!p) {
        report.left.push(t);
        continue;
      }
      inflight.set(p.name, inflight.get(p.name)! + t.bytes);
      let out: Outcome;
      try {
        out = await transfer(p, t);
      } finally {
        inflight.set(p.name, inflight.get(p.name)! - t.bytes);
      }
      if (out.ok) {
        report.fetched.push({ hash: t.sha256, bytes: t.bytes, peer: p.name });
        report.bytesFromPeers += t.bytes;
        report.bytesByPeer[p.name] = (report.bytesByPeer[p.name] ?? 0) + t.bytes;
        continue;
      }
      report.failures.push({ peer: p.name, hash: t.sha256, code: out.code, message: `peer ${p.name}: ${out.message}` });
      if (out.kind === 'bad') dropped.add(p.name);
      tried.set(t.sha256, (tried.get(t.sha256) ?? new Set()).add(p.name));
      queue.unshift(t); // retried on another peer, or left for the repository
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.max(1, o.parallel) }, worker));
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  report.ms = performance.now() - t0;
  return report;
}
