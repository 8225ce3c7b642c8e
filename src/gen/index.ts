// Public surface of the synthetic model generator.
export { bert, BERT_BASE, BERT_TINY, type BertConfig } from './bert.js';
export { resnet50, RESNET50, RESNET_TINY, type ResNetConfig } from './resnet.js';
export { mlp, MLP_DEFAULT, MLP_TINY, MLP_BIG, type MlpConfig } from './mlp.js';
export { fineTuned, variedTensorNames, variantPath, type VariantOptions } from './variants.js';
export {
  writeModel,
  modelFileSize,
  tensorSeed,
  OUTPUT_FORMATS,
  IR_VERSION,
  OPSET,
  MAX_PROTOBUF_BYTES,
  GENERATOR_VERSION,
  type OutputFormat,
  type WriteOptions,
  type WriteResult,
  type WrittenFile,
} from './writer.js';
export {
  paramCount,
  weightBytes,
  tensorBytes,
  numel,
  DataType,
  type ModelSpec,
  type ModelKind,
  type TensorSpec,
  type NodeSpec,
  type ValueSpec,
  type Fill,
} from './spec.js';
export { tinyBertFolder, tinyVocab, type TinyBertFolder, type TinyBertFolderOptions } from './hf.js';
