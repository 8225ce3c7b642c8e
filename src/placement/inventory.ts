// The JSON forms `tensorshare place` reads (and an extender can reuse), as
// parsed values: a model's tensors and node inventories. Pure: callers read
// the files.
//
// Model: a store manifest (`format`, `tensors[].sha256/bytes`, `graph`), or
//   { "model": "bert-ft1", "tensors": [{ "hash": "<sha256>", "bytes": 2359296 }, ...] }
// A manifest's graph file counts as one more object, and repeated hashes
// (two initializers with the same bytes) count once.
// Nodes: an array, or { "nodes": [...] }, of
//   { "node": "node-a", "freeBytes": 8589934592, "resident": ["<sha256>", ...], "repository": ["<sha256>", ...] }
import { TensorshareError } from '../errors.js';
import type { ModelTensors, NodeHoldings } from './scorer.js';

type Json = Record<string, unknown>;

function bad(source: string, what: string): never {
  throw new TensorshareError('ERR_INVALID_ARGUMENT', `${source}: ${what}`, { source });
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bytesOf(v: unknown, source: string, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    bad(source, `${where}: bytes must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

export function modelFromJson(value: unknown, source: string): ModelTensors {
  if (!isObject(value)) bad(source, 'want an object (a store manifest or { model, tensors })');
  const list = value.tensors;
  if (!Array.isArray(list)) bad(source, "no 'tensors' array");
  const manifest = typeof value.format === 'string' && typeof value.name === 'string';
  const model = manifest ? `${value.name}:${String(value.version ?? '')}` : value.model;
  if (typeof model !== 'string' || model === '') bad(source, "no model name ('model', or a manifest's 'name')");
  const byHash = new Map<string, number>();
  const add = (hash: unknown, bytes: unknown, where: string) => {
    if (typeof hash !== 'string' || hash === '') bad(source, `${where}: no hash`);
    const b = bytesOf(bytes, source, where);
    const seen = byHash.get(hash);
    if (seen !== undefined && seen !== b) bad(source, `${where}: hash ${hash} appears with ${seen} and ${b} bytes`);
    byHash.set(hash, b);
  };
  list.forEach((t, i) => {
    if (!isObject(t)) bad(source, `tensors[${i}] is not an object`);
    add(manifest ? t.sha256 : t.hash, t.bytes, `tensors[${i}]`);
  });
  if (manifest && isObject(value.graph)) add(value.graph.sha256, value.graph.bytes, 'graph');
  return { model, tensors: [...byHash].map(([hash, bytes]) => ({ hash, bytes })) };
}

export function nodesFromJson(value: unknown, source: string): NodeHoldings[] {
  const list = Array.isArray(value) ? value : isObject(value) && Array.isArray(value.nodes) ? value.nodes : undefined;
  if (!list) bad(source, 'want an array of nodes or { nodes: [...] }');
  return list.map((n, i) => {
    if (!isObject(n)) bad(source, `nodes[${i}] is not an object`);
    if (typeof n.node !== 'string' || n.node === '') bad(source, `nodes[${i}]: no 'node' name`);
    const free = n.freeBytes;
    if (typeof free !== 'number' || !Number.isFinite(free)) bad(source, `node '${n.node}': freeBytes must be a number`);
    const set = (k: 'resident' | 'repository'): Set<string> => {
      const v = n[k] ?? [];
      if (!Array.isArray(v) || v.some((h) => typeof h !== 'string'))
        bad(source, `node '${n.node}': '${k}' must be an array of hashes`);
      return new Set(v as string[]);
    };
    const resident = set('resident');
    const repository = set('repository');
    return {
      node: n.node,
      freeBytes: free,
      hasResident: (h) => resident.has(h),
      hasInRepository: (h) => repository.has(h),
    };
  });
}
