// Publishes a node's inventory where other components read it cheaply: an
// annotation on the node's own Node object (tensorshare.dev/inventory), so
// kube-scheduler hands it to the extender with every call (the extender is
// not nodeCacheCapable: it receives whole Node objects) and nothing has to
// poll the agents. Bounded (at most MAX_ANNOTATION_BYTES: capacity, the
// resident and repository hash-set digests, per-model resident fractions,
// a SHA-256 of the resident hash list) and rate-limited (one PATCH per
// interval at most, and only when something changed or the last one is
// getting old), since every Node update reaches every watcher of Nodes.
// Readable by whoever may read Nodes: it names no tenant's model (the
// summary's rule, agent-server.ts).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { TensorshareError } from '../errors.js';
import { isSha256 } from '../store/layout.js';
import type { HashSetDigest } from './hash-set.js';
import type { Summary } from './inventory.js';
import type { KubeApi } from './kube-api.js';

export const INVENTORY_ANNOTATION = 'tensorshare.dev/inventory';
/** Kubernetes allows 256 KiB for all of an object's annotations; this one takes at most a quarter. */
export const MAX_ANNOTATION_BYTES = 64 * 1024;
const FORMAT = 'tensorshare.node-inventory/v1';

export interface PublishedInventory {
  format: typeof FORMAT;
  node: string;
  /** When it was taken (ISO 8601): readers ignore one older than their limit. */
  at: string;
  freeBytes: number;
  budgetBytes: number;
  residentBytes: number;
  residentTensors: number;
  /** SHA-256 of the sorted resident hashes, newline-separated: equal exactly when two nodes hold the same set. */
  residentSha256: string;
  resident: HashSetDigest;
  repository: HashSetDigest;
  /** [model, resident fraction], most resident first, as many as the bound leaves room for. */
  models: [string, number][];
  modelsLeftOut: number;
}

export function residentSha256(hashes: readonly string[]): string {
  return createHash('sha256')
    .update([...hashes].sort().join('\n'))
    .digest('hex');
}

/** The annotation's value: the summary, bounded by dropping the least resident models first. */
export function encodeInventory(s: Summary, residentHashes: readonly string[], at: Date): string {
  const p: PublishedInventory = {
    format: FORMAT,
    node: s.node,
    at: at.toISOString(),
    freeBytes: s.freeBytes,
    budgetBytes: s.capacity.budgetBytes,
    residentBytes: s.residentBytes,
    residentTensors: s.residentTensors,
    residentSha256: residentSha256(residentHashes),
    resident: s.resident,
    repository: s.repository,
    models: s.models.map((m) => [m.model, m.residentFraction]),
    modelsLeftOut: s.modelsLeftOut,
  };
  let text = JSON.stringify(p);
  if (Buffer.byteLength(text) > MAX_ANNOTATION_BYTES) {
    // Halve until it fits, then it is at most twice too short: the order keeps the most resident.
    let keep = p.models.length;
    while (keep > 0 && Buffer.byteLength(text) > MAX_ANNOTATION_BYTES) {
      keep = Math.floor(keep / 2);
      text = JSON.stringify({
        ...p,
        models: p.models.slice(0, keep),
        modelsLeftOut: p.modelsLeftOut + p.models.length - keep,
      });
    }
  }
  return text;
}

const bad = (why: string) => new TensorshareError('ERR_INVALID_ARGUMENT', `${INVENTORY_ANNOTATION}: ${why}`);

/** Parses and checks an annotation value (a reader must not trust its shape). */
export function decodeInventory(text: string): PublishedInventory {
  if (typeof text !== 'string' || Buffer.byteLength(text) > MAX_ANNOTATION_BYTES) throw bad('missing or too large');
  let p: PublishedInventory;
  try {
    p = JSON.parse(text) as PublishedInventory;
  } catch {
    throw bad('not JSON');
  }
  if (p?.format !== FORMAT) throw bad(`format is not ${FORMAT}`);
  if (typeof p.node !== 'string' || Number.isNaN(Date.parse(p.at))) throw bad('node or time missing');
  for (const k of ['freeBytes', 'budgetBytes', 'residentBytes', 'residentTensors', 'modelsLeftOut'] as const)
    if (!Number.isSafeInteger(p[k]) || p[k] < 0) throw bad(`${k} is not a byte count`);
  if (!isSha256(p.residentSha256)) throw bad('residentSha256 is not a SHA-256');
  if (!Array.isArray(p.models)) throw bad('models is not a list');
  return p;
}

export interface PublisherOptions {
  api: KubeApi;
  /** The Node object's name (--node-name: the DaemonSet passes spec.nodeName). */
  node: string;
  snapshot(): Promise<{ summary: Summary; residentHashes: string[] }>;
  /** At most one PATCH per this long. */
  minIntervalMs: number;
  /** An unchanged inventory is published again after this long, so readers can tell a live node by `at`. */
  refreshMs: number;
  log: Logger;
  /** Milliseconds, monotonic (tests pass a fake clock). */
  now?: () => number;
  /** Wall-clock time written into `at`. */
  date?: () => Date;
}

export type TickResult = 'published' | 'unchanged' | 'too-soon' | 'failed';

export interface Publisher {
  /** One round: publish when allowed and needed. The timer calls it; tests call it with a fake clock. */
  tick(): Promise<TickResult>;
  counters(): { patches: number; failures: number };
  start(): void;
  stop(): void;
}

export function createPublisher(o: PublisherOptions): Publisher {
  const now = o.now ?? (() => performance.now());
  const date = o.date ?? (() => new Date());
  let lastPatchAt: number | undefined;
  let lastPublishedAt: number | undefined;
  let lastContent: string | undefined;
  let lastError: string | undefined;
  let running: Promise<TickResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const counts = { patches: 0, failures: 0 };

  async function round(): Promise<TickResult> {
    const t = now();
    if (lastPatchAt !== undefined && t - lastPatchAt < o.minIntervalMs) return 'too-soon';
    const { summary, residentHashes } = await o.snapshot();
    // What changed is everything but the time: compare with `at` fixed.
    const content = encodeInventory(summary, residentHashes, new Date(0));
    if (content === lastContent && lastPublishedAt !== undefined && t - lastPublishedAt < o.refreshMs)
      return 'unchanged';
    lastPatchAt = t;
    counts.patches++;
    try {
      await o.api.patchNodeAnnotations(o.node, {
        [INVENTORY_ANNOTATION]: encodeInventory(summary, residentHashes, date()),
      });
    } catch (e) {
      counts.failures++;
      const msg = (e as Error).message;
      // One line per new reason, not one per interval.
      if (msg !== lastError) o.log.warn({ err: msg, node: o.node }, 'cannot publish the inventory annotation');
      lastError = msg;
      return 'failed';
    }
    if (lastError !== undefined) o.log.info({ node: o.node }, 'inventory annotation published again');
    lastError = undefined;
    lastContent = content;
    lastPublishedAt = t;
    return 'published';
  }

  const tick = (): Promise<TickResult> => {
    // One round at a time: a slow API server never stacks PATCHes.
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tickLogged = () =>
    void tick().catch((e) => o.log.warn({ err: (e as Error).message }, 'inventory snapshot failed'));

  return {
    tick,
    counters: () => ({ ...counts }),
    start() {
      if (timer) return;
      timer = setInterval(tickLogged, Math.max(100, Math.min(o.minIntervalMs, o.refreshMs)));
      timer.unref();
      tickLogged();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
