// A model description that holds no weight bytes: graph structure plus, for
// every initializer, its shape and a recipe for its values. Builders (bert,
// resnet50, mlp) produce it cheaply; writer.ts turns it into a file, making
// the values on the fly so memory never holds the whole model.

import { TensorshareError } from '../errors.js';

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export function elemSize(dt: DataTypeCode): number {
  return dt === DataType.INT64 ? 8 : 4;
}

export type Fill =
  /** center + scale * U[-1, 1), from a PRNG keyed by the tensor name and seed. */
  | { kind: 'uniform'; scale: number; center?: number }
  /** Literal values (shape constants, scalars). */
  | { kind: 'values'; values: readonly number[] };

export interface TensorSpec {
  name: string;
  dataType: DataTypeCode;
  dims: readonly number[];
  fill: Fill;
  /** Index of the trainable unit the tensor belongs to (for fine-tuned variants); absent = never varied. */
  layer?: number;
  /** Mixed into the PRNG seed; fine-tuned variants set it on their varied tensors. */
  salt?: string;
}

export type AttrValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] };

export interface NodeSpec {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Record<string, AttrValue>;
}

export interface ValueSpec {
  name: string;
  dataType: DataTypeCode;
  /** number = fixed size, string = symbolic (dim_param). */
  dims: ReadonlyArray<number | string>;
}

export type ModelKind = 'bert' | 'resnet50' | 'mlp';

export interface ModelSpec {
  kind: ModelKind;
  /** Graph name, also used in provenance metadata. */
  name: string;
  /** The resolved builder configuration (recorded in the file's metadata). */
  config: Readonly<Record<string, unknown>>;
  seed: number;
  /** Number of trainable units; TensorSpec.layer is in [0, layerCount). */
  layerCount: number;
  /** Set on fine-tuned variants. */
  variant?: { index: number; diffLayers: number; seed: number };
  nodes: NodeSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers: TensorSpec[];
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function tensorBytes(t: TensorSpec): number {
  return numel(t.dims) * elemSize(t.dataType);
}

/** Number of trainable parameters (the usual "param count"): generated weights, not literal constants. */
export function paramCount(spec: ModelSpec): number {
  let n = 0;
  for (const t of spec.initializers) if (t.fill.kind === 'uniform') n += numel(t.dims);
  return n;
}

/** Total bytes of all initializer data. */
export function weightBytes(spec: ModelSpec): number {
  let n = 0;
  for (const t of spec.initializers) n += tensorBytes(t);
  return n;
}

export function requirePositiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} must be a positive integer, got ${String(value)}`, {
      what,
      value,
    });
  }
  return value;
}

/** Collects nodes and initializers with unique names while a builder walks the architecture. */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  private claim(name: string): string {
    if (this.names.has(name)) throw new TensorshareError('ERR_INTERNAL', `duplicate graph name ${name}`);
    this.names.add(name);
    return name;
  }

  /** Adds a node with one output named `${name}_out` (or `outName`) and returns that output. */
  op(
    opType: string,
    inputs: readonly string[],
    name?: string,
    attrs?: Record<string, AttrValue>,
    outName?: string,
  ): string {
    const n = name ?? `${opType}_${this.counter++}`;
    const out = this.claim(outName ?? `${n}_out`);
    this.nodes.push({ opType, name: n, inputs, outputs: [out], ...(attrs ? { attrs } : {}) });
    return out;
  }

  weight(name: string, dims: readonly number[], fill: Fill, layer?: number): string {
    this.initializers.push({
      name: this.claim(name),
      dataType: DataType.FLOAT,
      dims,
      fill,
      ...(layer === undefined ? {} : { layer }),
    });
    return name;
  }

  /** int64 constant (shapes, axes, indices); dims [] makes a scalar. */
  int64(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    this.initializers.push({
      name: this.claim(name),
      dataType: DataType.INT64,
      dims,
      fill: { kind: 'values', values },
    });
    return name;
  }

  /** float scalar constant. */
  float(name: string, value: number): string {
    this.initializers.push({
      name: this.claim(name),
      dataType: DataType.FLOAT,
      dims: [],
      fill: { kind: 'values', values: [value] },
    });
    return name;
  }
}
