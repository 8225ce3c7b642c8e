// onnxruntime-node's tensor type names beside the KServe datatypes: the one
// place the two vocabularies meet. Storage is the same on both sides, so a
// conversion only renames the type.
import { TensorshareError } from '../errors.js';
import type { Datatype, NumericData } from './datatypes.js';

/** onnxruntime-node Tensor type names that have a KServe datatype. */
export type OrtDtype =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

const ORT_TO_KSERVE: Record<OrtDtype, Datatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};
const KSERVE_TO_ORT = Object.fromEntries(Object.entries(ORT_TO_KSERVE).map(([k, v]) => [v, k])) as Record<
  Datatype,
  OrtDtype
>;

/** A tensor as onnxruntime-node's Tensor constructor takes it: (dtype, data, shape). */
export interface OrtFeed {
  dtype: OrtDtype;
  shape: number[];
  data: NumericData | string[];
}

/** onnxruntime dtype name ('float32') -> KServe datatype ('FP32'). */
export function datatypeOf(ortDtype: string): Datatype {
  const d = Object.hasOwn(ORT_TO_KSERVE, ortDtype) ? ORT_TO_KSERVE[ortDtype as OrtDtype] : undefined;
  if (!d)
    throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `tensor type ${ortDtype} has no KServe v2 datatype`, {
      dtype: ortDtype,
    });
  return d;
}

/** KServe datatype ('FP32') -> onnxruntime dtype name ('float32'). */
export function ortDtypeOf(datatype: string): OrtDtype {
  const d = Object.hasOwn(KSERVE_TO_ORT, datatype) ? KSERVE_TO_ORT[datatype as Datatype] : undefined;
  if (!d) throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `datatype ${datatype} is not supported`, { datatype });
  return d;
}
