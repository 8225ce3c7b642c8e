import path from 'node:path';
import protobuf from 'protobufjs';
import { protoDir } from '../paths.js';

// protobufjs types for the ONNX subset in proto/onnx.proto. Loaded once on
// first use: parsing the schema is pure and its result immutable.
let cached: OnnxTypes | undefined;

export interface OnnxTypes {
  Model: protobuf.Type;
  Graph: protobuf.Type;
  Tensor: protobuf.Type;
  Node: protobuf.Type;
  ValueInfo: protobuf.Type;
}

export function onnxTypes(): OnnxTypes {
  if (cached) return cached;
  const root = protobuf.loadSync(path.join(protoDir, 'onnx.proto'));
  cached = {
    Model: root.lookupType('onnx.ModelProto'),
    Graph: root.lookupType('onnx.GraphProto'),
    Tensor: root.lookupType('onnx.TensorProto'),
    Node: root.lookupType('onnx.NodeProto'),
    ValueInfo: root.lookupType('onnx.ValueInfoProto'),
  };
  return cached;
}

/** Field numbers of onnx.proto that the byte-level walkers (split, fast-run, import) read and rewrite. */
export const MODEL_GRAPH = 7; // ModelProto.graph
export const GRAPH_INITIALIZER = 5; // GraphProto.initializer
export const GRAPH_INPUT = 11; // GraphProto.input

/** Decoding options: int64 as JS numbers (tensor dims never exceed 2^53), bytes as Buffers. */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, bytes: Buffer, defaults: false, arrays: true };

export interface TensorHeader {
  name?: string;
  dims?: number[];
  dataType?: number;
  docString?: string;
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
  metadataProps?: { key: string; value: string }[];
}

export interface ValueInfo {
  name?: string;
  type?: {
    tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } };
  };
}
