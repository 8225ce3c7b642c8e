// Public surface of src/tensor: the one tensor and request model.
export {
  DATATYPES,
  INT_RANGE,
  arrayFor,
  dataMatches,
  elementSize,
  isDatatype,
  type Datatype,
  type NumericData,
  type TensorData,
  type TypedArrayCtor,
} from './datatypes.js';
export { datatypeOf, ortDtypeOf, type OrtDtype, type OrtFeed } from './ort.js';
export { halfToNumber, numbersToHalf } from './fp16.js';
export { bytesElements, bytesOf, bytesToStrings, textOf } from './bytes.js';
export {
  compactTensor,
  elementCount,
  type Dim,
  type Parameters,
  type ParamValue,
  type Tensor,
  type TensorValue,
} from './tensor.js';
export {
  dimOf,
  ioMetadata,
  type InferRequest,
  type InferResponse,
  type InferTiming,
  type ModelMetadata,
  type RequestedOutput,
  type TensorMetadata,
} from './request.js';
