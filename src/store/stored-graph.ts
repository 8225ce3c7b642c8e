// The graph file of a stored model, decoded: it is small (tensors live
// outside it), so commands read it whole to report on the graph itself.
import fs from 'node:fs/promises';
import { onnxTypes, TO_OBJECT } from '../onnx/schema.js';

export interface GraphNode {
  opType?: string;
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: { name?: string; i?: number }[];
}

export interface GraphInitializer {
  name?: string;
  dims?: number[];
  /** 1 (EXTERNAL) for tensors in the store; anything else is embedded in the graph. */
  dataLocation?: number;
}

export interface StoredGraph {
  node: GraphNode[];
  initializer: GraphInitializer[];
}

export async function readStoredGraph(file: string): Promise<StoredGraph> {
  const { Model } = onnxTypes();
  const model = Model.toObject(Model.decode(await fs.readFile(file)), TO_OBJECT) as { graph?: Partial<StoredGraph> };
  return { node: model.graph?.node ?? [], initializer: model.graph?.initializer ?? [] };
}
