// Tensor-similarity placement (Tetris): a node that already holds a model's
// tensors loads fewer bytes and shares memory with the instances there.
import { TensorshareError } from '../errors.js';

export interface ModelTensors {
  readonly model: string;
  /** Unique hashes. */
  readonly tensors: ReadonlyArray<{ readonly hash: string; readonly bytes: number }>;
}

export interface NodeHoldings {
  readonly node: string;
  readonly freeBytes: number;
  hasResident(hash: string): boolean;
  hasInRepository(hash: string): boolean;
}

export interface NodeScore {
  readonly node: string;
  readonly residentBytes: number;
  readonly repositoryBytes: number;
  readonly missingBytes: number;
  /** total - residentBytes: the bytes the node's store must add. */
  readonly needBytes: number;
  /** needBytes <= freeBytes */
  readonly fits: boolean;
}

export function scoreNode(model: ModelTensors, node: NodeHoldings): NodeScore {
  checkModel(model);
  checkNode(node);
  return score(model, node);
}

/** Fitting nodes only, best first: residentBytes desc, then repositoryBytes desc, then node name asc. */
export function rankNodes(model: ModelTensors, nodes: readonly NodeHoldings[]): NodeScore[] {
  checkModel(model);
  const names = new Set<string>();
  for (const n of nodes) {
    checkNode(n);
    if (names.has(n.node)) {
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `node '${n.node}' is listed twice`, { node: n.node });
    }
    names.add(n.node);
  }
  return nodes
    .map((n) => score(model, n))
    .filter((s) => s.fits)
    .sort(
      (a, b) =>
        b.residentBytes - a.residentBytes ||
        b.repositoryBytes - a.repositoryBytes ||
        (a.node < b.node ? -1 : a.node > b.node ? 1 : 0),
    );
}

function score(model: ModelTensors, node: NodeHoldings): NodeScore {
  let residentBytes = 0;
  let repositoryBytes = 0;
  let missingBytes = 0;
  for (const t of model.tensors) {
    if (node.hasResident(t.hash)) residentBytes += t.bytes;
    else if (node.hasInRepository(t.hash)) repositoryBytes += t.bytes;
    else missingBytes += t.bytes;
  }
  const needBytes = repositoryBytes + missingBytes;
  return {
    node: node.node,
    residentBytes,
    repositoryBytes,
    missingBytes,
    needBytes,
    fits: needBytes <= node.freeBytes,
  };
}

function checkModel(model: ModelTensors): void {
  const seen = new Set<string>();
  for (const t of model.tensors) {
    if (seen.has(t.hash)) {
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `model '${model.model}' lists tensor ${t.hash} twice`, {
        model: model.model,
        hash: t.hash,
      });
    }
    seen.add(t.hash);
    if (!Number.isSafeInteger(t.bytes) || t.bytes < 0) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `model '${model.model}': tensor ${t.hash} has bytes ${t.bytes} (want a non-negative integer)`,
        { model: model.model, hash: t.hash, bytes: t.bytes },
      );
    }
  }
}

function checkNode(node: NodeHoldings): void {
  if (typeof node.freeBytes !== 'number' || Number.isNaN(node.freeBytes)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `node '${node.node}' has freeBytes ${node.freeBytes} (want a number)`,
      {
        node: node.node,
      },
    );
  }
}
