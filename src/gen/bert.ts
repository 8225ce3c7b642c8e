// BERT encoder (HF BertModel without the MLM head) from plain opset-17 ops,
// mirroring what torch.onnx exports of bert-base-uncased contain: Gather
// embeddings, LayerNormalization, MatMul+Add projections, Reshape/Transpose
// heads, additive attention-mask bias, Erf-based Gelu.

import { TensorshareError } from '../errors.js';
import { DataType, GraphBuilder, requirePositiveInt, type ModelSpec } from './spec.js';

export interface BertConfig {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  typeVocab: number;
  /** Adds the pooler (dense+tanh on [CLS]) and a `pooler_output` output, as HF's BertModel has. */
  pooler: boolean;
  layerNormEps: number;
  seed: number;
}

export const BERT_BASE: Readonly<BertConfig> = Object.freeze({
  layers: 12,
  hidden: 768,
  heads: 12,
  intermediate: 3072,
  vocab: 30522,
  maxPositions: 512,
  typeVocab: 2,
  pooler: false,
  layerNormEps: 1e-12,
  seed: 0,
});

/** A few-kilobyte BERT for tests. */
export const BERT_TINY: Readonly<Partial<BertConfig>> = Object.freeze({
  layers: 2,
  hidden: 32,
  heads: 4,
  intermediate: 64,
  vocab: 50,
  maxPositions: 16,
});

/**
 * Describes a BERT encoder. Trainable units for fine-tuned variants: encoder
 * layer i is unit i; the pooler (if any) is the last unit. Embeddings never vary.
 */
export function bert(config: Partial<BertConfig> = {}): ModelSpec {
  const c: BertConfig = { ...BERT_BASE, ...config };
  for (const k of ['layers', 'hidden', 'heads', 'intermediate', 'vocab', 'maxPositions', 'typeVocab'] as const) {
    requirePositiveInt(c[k], `bert ${k}`);
  }
  if (c.hidden % c.heads !== 0) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `bert hidden (${c.hidden}) must be divisible by heads (${c.heads})`,
      { hidden: c.hidden, heads: c.heads },
    );
  }
  const H = c.hidden;
  const headDim = H / c.heads;
  const g = new GraphBuilder();
  // Weights follow PyTorch nn.Linear's default range, 1/sqrt(fan_in);
  // embeddings use BERT's initializer_range 0.02 (uniform with equal std).
  const linear = (prefix: string, fanIn: number, fanOut: number, layer?: number) => ({
    w: g.weight(`${prefix}.weight`, [fanIn, fanOut], { kind: 'uniform', scale: 1 / Math.sqrt(fanIn) }, layer),
    b: g.weight(`${prefix}.bias`, [fanOut], { kind: 'uniform', scale: 1 / Math.sqrt(fanIn) }, layer),
  });
  const layerNorm = (prefix: string, x: string, layer?: number): string => {
    const gamma = g.weight(`${prefix}.weight`, [H], { kind: 'uniform', scale: 0.02, center: 1 }, layer);
    const beta = g.weight(`${prefix}.bias`, [H], { kind: 'uniform', scale: 0.02 }, layer);
    return g.op('LayerNormalization', [x, gamma, beta], `${prefix}/LayerNormalization`, {
      axis: -1,
      epsilon: { float: c.layerNormEps },
    });
  };
  const dense = (prefix: string, x: string, fanIn: number, fanOut: number, layer?: number): string => {
    const { w, b } = linear(prefix, fanIn, fanOut, layer);
    const mm = g.op('MatMul', [x, w], `${prefix}/MatMul`);
    return g.op('Add', [mm, b], `${prefix}/Add`);
  };

  // Embeddings: word + position(0..seq-1) + token type, then LayerNorm.
  const emb = 'embeddings';
  const embScale = 0.02 * Math.sqrt(3);
  const wordEmb = g.weight(`${emb}.word_embeddings.weight`, [c.vocab, H], { kind: 'uniform', scale: embScale });
  const posEmb = g.weight(`${emb}.position_embeddings.weight`, [c.maxPositions, H], {
    kind: 'uniform',
    scale: embScale,
  });
  const typeEmb = g.weight(`${emb}.token_type_embeddings.weight`, [c.typeVocab, H], {
    kind: 'uniform',
    scale: embScale,
  });
  const words = g.op('Gather', [wordEmb, 'input_ids'], `${emb}/word_embeddings/Gather`);
  const shape = g.op('Shape', ['input_ids'], `${emb}/Shape`);
  const seqLen = g.op('Gather', [shape, g.int64('const.one_scalar', [1], [])], `${emb}/Gather_seq_len`, { axis: 0 });
  const positions = g.op('Range', [g.int64('const.zero_scalar', [0], []), seqLen, 'const.one_scalar'], `${emb}/Range`);
  const pos = g.op('Gather', [posEmb, positions], `${emb}/position_embeddings/Gather`);
  const types = g.op('Gather', [typeEmb, 'token_type_ids'], `${emb}/token_type_embeddings/Gather`);
  const sum1 = g.op('Add', [words, types], `${emb}/Add`);
  const sum2 = g.op('Add', [sum1, pos], `${emb}/Add_1`);
  let x = layerNorm(`${emb}.LayerNorm`, sum2);

  // Additive mask bias [batch, 1, 1, seq]: 0 where attended, -10000 where padded
  // (the value HF BERT exports used before switching to finfo.min).
  const maskU = g.op('Unsqueeze', ['attention_mask', g.int64('const.mask_axes', [1, 2])], 'mask/Unsqueeze');
  const maskF = g.op('Cast', [maskU], 'mask/Cast', { to: DataType.FLOAT });
  const inv = g.op('Sub', [g.float('const.one_float', 1), maskF], 'mask/Sub');
  const maskBias = g.op('Mul', [inv, g.float('const.mask_fill', -10000)], 'mask/Mul');

  const headsShape = g.int64('const.heads_shape', [0, 0, c.heads, headDim]);
  const mergedShape = g.int64('const.merged_shape', [0, 0, H]);
  const attnScale = g.float('const.attention_scale', 1 / Math.sqrt(headDim));
  const sqrt2 = g.float('const.sqrt2', Math.SQRT2);
  const half = g.float('const.half', 0.5);

  for (let i = 0; i < c.layers; i++) {
    const p = `encoder.layer.${i}`;
    const sa = `${p}.attention.self`;
    const split = (which: string, perm: number[]): string => {
      const proj = dense(`${sa}.${which}`, x, H, H, i);
      const r = g.op('Reshape', [proj, headsShape], `${sa}.${which}/Reshape`);
      return g.op('Transpose', [r], `${sa}.${which}/Transpose`, { perm });
    };
    const q = split('query', [0, 2, 1, 3]); // [b, h, s, d]
    const k = split('key', [0, 2, 3, 1]); // [b, h, d, s]
    const v = split('value', [0, 2, 1, 3]); // [b, h, s, d]
    const scores = g.op('MatMul', [q, k], `${sa}/MatMul_qk`);
    const scaled = g.op('Mul', [scores, attnScale], `${sa}/Mul_scale`);
    const masked = g.op('Add', [scaled, maskBias], `${sa}/Add_mask`);
    const probs = g.op('Softmax', [masked], `${sa}/Softmax`, { axis: -1 });
    const ctx = g.op('MatMul', [probs, v], `${sa}/MatMul_v`);
    const ctxT = g.op('Transpose', [ctx], `${sa}/Transpose_ctx`, { perm: [0, 2, 1, 3] });
    const ctxM = g.op('Reshape', [ctxT, mergedShape], `${sa}/Reshape_ctx`);
    const attnOut = dense(`${p}.attention.output.dense`, ctxM, H, H, i);
    const res1 = g.op('Add', [attnOut, x], `${p}.attention.output/Add_residual`);
    const h1 = layerNorm(`${p}.attention.output.LayerNorm`, res1, i);

    // FFN with exact Gelu: 0.5 * x * (1 + erf(x / sqrt(2))).
    const inter = dense(`${p}.intermediate.dense`, h1, H, c.intermediate, i);
    const div = g.op('Div', [inter, sqrt2], `${p}.intermediate/Div`);
    const erf = g.op('Erf', [div], `${p}.intermediate/Erf`);
    const erf1 = g.op('Add', [erf, 'const.one_float'], `${p}.intermediate/Add_one`);
    const gx = g.op('Mul', [inter, erf1], `${p}.intermediate/Mul`);
    const gelu = g.op('Mul', [gx, half], `${p}.intermediate/Mul_half`);
    const out = dense(`${p}.output.dense`, gelu, c.intermediate, H, i);
    const res2 = g.op('Add', [out, h1], `${p}.output/Add_residual`);
    x = layerNorm(`${p}.output.LayerNorm`, res2, i);
  }
  // Rename the final value to the graph output by routing it through Identity,
  // so names stay stable whatever the layer count.
  g.nodes.push({ opType: 'Identity', name: 'last_hidden_state/Identity', inputs: [x], outputs: ['last_hidden_state'] });

  const outputs: ModelSpec['outputs'] = [
    { name: 'last_hidden_state', dataType: DataType.FLOAT, dims: ['batch', 'sequence', H] },
  ];
  if (c.pooler) {
    // pooler_output = tanh(dense(hidden[:, 0])).
    const first = g.op('Gather', ['last_hidden_state', 'const.zero_scalar'], 'pooler/Gather_cls', { axis: 1 });
    const pooled = dense('pooler.dense', first, H, H, c.layers);
    g.nodes.push({ opType: 'Tanh', name: 'pooler/Tanh', inputs: [pooled], outputs: ['pooler_output'] });
    outputs.push({ name: 'pooler_output', dataType: DataType.FLOAT, dims: ['batch', H] });
  }

  const ids = (name: string) => ({ name, dataType: DataType.INT64, dims: ['batch', 'sequence'] });
  return {
    kind: 'bert',
    name: 'bert',
    config: { ...c },
    seed: c.seed,
    layerCount: c.layers + (c.pooler ? 1 : 0),
    nodes: g.nodes,
    inputs: [ids('input_ids'), ids('attention_mask'), ids('token_type_ids')],
    outputs,
    initializers: g.initializers,
  };
}
