// The kube-scheduler extender: filter drops nodes whose store budget cannot
// take the part of the pod's model they lack; prioritize ranks the rest by
// the model's bytes already resident there (then in the node's repository),
// with the same scorer `sim cluster` and `tensorshare place` use
// (src/placement). The pod names its model in an annotation; the nodes'
// holdings come from their agents' bounded summaries.
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { TensorshareError, isTensorshareError } from '../errors.js';
import { scoreNode, type ModelTensors, type NodeHoldings, type NodeScore } from '../placement/scorer.js';
import { formatBytes } from '../bytes.js';
import type { AgentDirectory } from './agent-directory.js';
import { hashSetLookup } from './hash-set.js';
import type { Summary } from './inventory.js';
import { decodeInventory, INVENTORY_ANNOTATION } from './publish.js';
import {
  MAX_EXTENDER_PRIORITY,
  candidateNodes,
  extenderArgs,
  filterResult,
  type ExtenderArgs,
  type HostPriority,
} from './extender-protocol.js';

export const MODEL_ANNOTATION = 'tensorshare.dev/model';
export const NAMESPACE_ANNOTATION = 'tensorshare.dev/namespace';

export interface ExtenderOptions {
  agents: AgentDirectory;
  log: Logger;
  /** Summaries and model tensor lists are reused this long. */
  cacheTtlMs?: number;
  /**
   * A node's inventory annotation (publish.ts), which kube-scheduler sends
   * inside each Node of the call, is used instead of asking its agent while
   * it is younger than this; 0: always ask the agents. Default 60 s.
   */
  annotationMaxAgeMs?: number;
  /** Wall clock for the annotations' age (tests pass a fixed one). */
  now?: () => number;
}

/** Holdings from the Nodes' inventory annotations in the call, for those fresh enough. */
export function annotatedHoldings(
  args: ExtenderArgs,
  maxAgeMs: number,
  now: number,
  log?: Logger,
): Map<string, NodeHoldings> {
  const out = new Map<string, NodeHoldings>();
  if (maxAgeMs <= 0) return out;
  for (const n of args.nodes?.items ?? []) {
    const name = n.metadata?.name;
    const text = n.metadata?.annotations?.[INVENTORY_ANNOTATION];
    if (!name || text === undefined) continue;
    try {
      const p = decodeInventory(text);
      if (p.node !== name || now - Date.parse(p.at) > maxAgeMs) continue;
      out.set(name, {
        node: name,
        freeBytes: p.freeBytes,
        hasResident: hashSetLookup(p.resident),
        hasInRepository: hashSetLookup(p.repository),
      });
    } catch (e) {
      log?.warn({ node: name, err: (e as Error).message }, 'inventory annotation unusable; asking the agent');
    }
  }
  return out;
}

/**
 * A node's 0..10 score: its resident fraction of the model, with bytes in its
 * repository counted a tenth (they still need a copy, from disk rather than
 * the network). 0 for a node that does not fit.
 */
export function extenderScore(s: NodeScore, totalBytes: number): number {
  if (!s.fits || totalBytes <= 0) return 0;
  const f = (s.residentBytes + s.repositoryBytes / 10) / totalBytes;
  return Math.max(0, Math.min(MAX_EXTENDER_PRIORITY, Math.round(f * MAX_EXTENDER_PRIORITY)));
}

export function holdingsOf(s: Summary): NodeHoldings {
  return {
    node: s.node,
    freeBytes: s.freeBytes,
    hasResident: hashSetLookup(s.resident),
    hasInRepository: hashSetLookup(s.repository),
  };
}

/** The model a pod needs, from its annotations; undefined when it names none (the extender then leaves it alone). */
export function podModel(args: ExtenderArgs): { ns: string; model: string } | undefined {
  const a = args.pod?.metadata?.annotations ?? {};
  const ref = a[MODEL_ANNOTATION]?.trim();
  if (!ref) return undefined;
  if (ref.startsWith('public/')) return { ns: 'public', model: ref.slice('public/'.length) };
  return { ns: a[NAMESPACE_ANNOTATION]?.trim() || 'default', model: ref };
}

export interface Extender {
  filter(args: ExtenderArgs): Promise<ReturnType<typeof filterResult>>;
  prioritize(args: ExtenderArgs): Promise<HostPriority[]>;
  /** The fastify app serving POST /filter, POST /prioritize and GET /healthz. */
  app: FastifyInstance;
}

export function createExtender(o: ExtenderOptions): Extender {
  const ttl = o.cacheTtlMs ?? 2000;
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  const cached = <T>(key: string, make: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key);
    if (hit && performance.now() - hit.at < ttl) return hit.value as Promise<T>;
    const value = make();
    cache.set(key, { at: performance.now(), value });
    value.catch(() => cache.delete(key));
    return value;
  };

  /** Node name -> summary, for every agent that answers (one that does not is logged and left out). */
  async function summaries(): Promise<Map<string, Summary>> {
    const all = await o.agents.agents();
    const got = await Promise.allSettled(all.map((a) => cached(`summary ${a.url}`, () => a.summary())));
    const out = new Map<string, Summary>();
    for (const [i, g] of got.entries()) {
      if (g.status === 'fulfilled') out.set(g.value.node, g.value);
      else o.log.warn({ agent: all[i]!.url, err: (g.reason as Error).message }, 'agent summary unavailable');
    }
    return out;
  }

  /** The model's unique tensors, from the first agent whose repository has it. */
  function modelTensors(ns: string, model: string): Promise<ModelTensors> {
    return cached(`model ${ns} ${model}`, async () => {
      const errors: string[] = [];
      for (const a of await o.agents.agents()) {
        try {
          const m = await a.modelTensors(ns, model);
          return { model: m.model, tensors: m.tensors };
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      throw new TensorshareError(
        'ERR_MODEL_NOT_FOUND',
        `model '${model}' (namespace ${ns}) is in no agent's repository (${errors.join('; ') || 'no agents'})`,
      );
    });
  }

  async function scores(args: ExtenderArgs) {
    const nodes = candidateNodes(args);
    const want = podModel(args);
    const scored = new Map<string, NodeScore & { freeBytes: number }>();
    if (!want) return { nodes, want, model: undefined, scored, error: undefined };
    const annotated = annotatedHoldings(args, o.annotationMaxAgeMs ?? 60_000, (o.now ?? Date.now)(), o.log);
    // The agents are asked only about nodes the call carries no fresh annotation for.
    const [sums, model] = await Promise.all([
      nodes.every((n) => annotated.has(n)) ? new Map<string, Summary>() : summaries(),
      modelTensors(want.ns, want.model).catch((e: unknown) => e as Error),
    ]);
    if (model instanceof Error) return { nodes, want, model: undefined, scored, error: model };
    for (const n of nodes) {
      const s = sums.get(n);
      const h = annotated.get(n) ?? (s && holdingsOf(s));
      if (!h) continue;
      try {
        scored.set(n, { ...scoreNode(model, h), freeBytes: h.freeBytes });
      } catch (e) {
        o.log.warn({ node: n, err: (e as Error).message }, 'agent summary unusable');
      }
    }
    return { nodes, want, model, scored, error: undefined };
  }

  async function filter(args: ExtenderArgs) {
    const { nodes, want, scored, error } = await scores(args);
    const failed: Record<string, string> = {};
    const keep = new Set<string>();
    for (const n of nodes) {
      const s = scored.get(n);
      if (error) failed[n] = `tensorshare: ${error.message}`;
      else if (s && !s.fits)
        failed[n] =
          `tensorshare: model '${want!.model}' needs ${formatBytes(s.needBytes)} more in this node's store, ` +
          `whose budget has ${formatBytes(s.freeBytes)} free (evictable models counted)`;
      // A node whose agent did not answer is kept: the scheduler's other filters decide (logged above).
      else keep.add(n);
    }
    return filterResult(args, keep, failed);
  }

  async function prioritize(args: ExtenderArgs): Promise<HostPriority[]> {
    const { nodes, model, scored } = await scores(args);
    const total = model?.tensors.reduce((a, t) => a + t.bytes, 0) ?? 0;
    return nodes.map((host) => {
      const s = scored.get(host);
      return { host, score: s ? extenderScore(s, total) : 0 };
    });
  }

  const app = fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  app.setErrorHandler((e, _req, reply) => {
    if (isTensorshareError(e, 'ERR_INVALID_ARGUMENT')) return reply.code(400).send({ error: e.message });
    o.log.error({ err: e }, 'extender request failed');
    return reply.code(500).send({ error: (e as Error).message });
  });
  app.get('/healthz', async () => ({ ok: true }));
  // At the root and under /scheduler (the urlPrefix the deploy/ manifests give kube-scheduler).
  for (const prefix of ['', '/scheduler']) {
    app.post(`${prefix}/filter`, (req) => filter(extenderArgs(req.body)));
    app.post(`${prefix}/prioritize`, (req) => prioritize(extenderArgs(req.body)));
  }
  return { filter, prioritize, app };
}
