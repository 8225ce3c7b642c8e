// The CI-sized compatibility corpus: tiny models, each exercising one thing
// that has broken tensorshare before (docs/compatibility.md):
// - one model per operator that ONNX shape inference reads as data (the
//   shape of Reshape, the axes of Unsqueeze, ...), from an initializer and,
//   for Reshape, from a Constant node;
// - IR 3 models that list their initializers among the graph inputs;
// - float16 models, including an attention block;
// - If / Loop / Scan, and Range;
// - models ONNX Runtime itself cannot run (unknown operator, opset too new,
//   a bfloat16 input), which must be reported as such.
// Every weight comes from a fixed PRNG, so the files are byte-identical on
// every run.

import { Xoshiro128 } from '../prng.js';
import {
  encodeTinyModel,
  Onnx,
  type TinyGraph,
  type TinyModelOptions,
  type TinyNode,
  type TinyTensor,
  type TinyValue,
} from './tiny-onnx.js';

export interface CorpusModel {
  /** File stem, unique. */
  name: string;
  /** What it exercises (a row's description in docs/compatibility.md). */
  family: string;
  bytes: Buffer;
  /** True when plain ONNX Runtime is expected to refuse it. */
  ortRejects?: boolean;
}

const F = Onnx.FLOAT;
const I64 = Onnx.INT64;
const H = Onnx.FLOAT16;

function floats(name: string, n: number, scale = 1): number[] {
  const r = new Xoshiro128(`compat|${name}`);
  return Array.from({ length: n }, () => (r.nextInt32() / 2 ** 31) * scale);
}

const w = (name: string, dims: number[], dataType: number = F, scale = 0.5): TinyTensor => ({
  name,
  dataType,
  dims,
  values: floats(
    name,
    dims.reduce((a, d) => a * d, 1),
    scale,
  ),
});
const ints = (name: string, values: number[], dims: number[] = [values.length]): TinyTensor => ({
  name,
  dataType: I64,
  dims,
  values,
});
const io = (name: string, dims: Array<number | string>, dataType: number = F): TinyValue => ({ name, dataType, dims });
const n = (op: string, inputs: string[], outputs: string[], attrs?: TinyNode['attrs']): TinyNode => ({
  op,
  inputs,
  outputs,
  ...(attrs ? { attrs } : {}),
});

/** A graph `y = Op(x, <initializers>)`, plus an Identity so every output is computed from a graph input. */
function single(
  name: string,
  op: string,
  x: TinyValue,
  extra: TinyTensor[],
  y: TinyValue,
  attrs?: TinyNode['attrs'],
  extraInputs: string[] = [],
): TinyGraph {
  return {
    name,
    nodes: [n(op, [x.name, ...extraInputs, ...extra.map((t) => t.name)], [y.name], attrs)],
    inputs: [x],
    outputs: [y],
    initializers: extra,
  };
}

function shapeOps(): CorpusModel[] {
  const m = (name: string, g: TinyGraph, o?: TinyModelOptions): CorpusModel => ({
    name,
    family: 'shape-like initializer',
    bytes: encodeTinyModel(g, o),
  });
  const x234 = io('x', [2, 3, 4]);
  return [
    m('op-reshape', single('reshape', 'Reshape', x234, [ints('shape', [4, 6])], io('y', [4, 6]))),
    m('op-reshape-constant-node', {
      name: 'reshape-constant',
      inputs: [x234],
      outputs: [io('y', [6, 4])],
      nodes: [
        n('Constant', [], ['shape'], { value: { t: ints('value', [6, 4]) } }),
        n('Reshape', ['x', 'shape'], ['y']),
      ],
    }),
    m('op-constant-of-shape', {
      name: 'constant-of-shape',
      inputs: [x234],
      outputs: [io('y', [2, 3, 4])],
      initializers: [ints('shape', [2, 3, 4])],
      nodes: [
        n('ConstantOfShape', ['shape'], ['c'], {
          value: { t: { name: 'value', dataType: F, dims: [1], values: [0.5] } },
        }),
        n('Add', ['x', 'c'], ['y']),
      ],
    }),
    m('op-unsqueeze', single('unsqueeze', 'Unsqueeze', x234, [ints('axes', [0, 3])], io('y', [1, 2, 3, 1, 4]))),
    m('op-squeeze', single('squeeze', 'Squeeze', io('x', [1, 3, 1, 4]), [ints('axes', [0, 2])], io('y', [3, 4]))),
    m('op-reduce-sum', single('reduce-sum', 'ReduceSum', x234, [ints('axes', [1])], io('y', [2, 1, 4]))),
    m('op-reduce-mean', single('reduce-mean', 'ReduceMean', x234, [ints('axes', [0, 2])], io('y', [1, 3, 1]))),
    m('op-reduce-max', single('reduce-max', 'ReduceMax', x234, [ints('axes', [2])], io('y', [2, 3, 1]))),
    m(
      'op-slice',
      single(
        'slice',
        'Slice',
        io('x', [4, 6]),
        [ints('starts', [1, 0]), ints('ends', [3, 6]), ints('axes', [0, 1]), ints('steps', [1, 2])],
        io('y', [2, 3]),
      ),
    ),
    m('op-tile', single('tile', 'Tile', io('x', [2, 3]), [ints('repeats', [2, 2])], io('y', [4, 6]))),
    // A shape computed from constants through Unsqueeze, Identity and Concat, as exporters write it.
    m('op-reshape-computed-shape', {
      name: 'reshape-computed-shape',
      inputs: [x234],
      outputs: [io('y', [2, 12])],
      // shape = [dim 0 of x, -1], as transformers' exports write it: ORT's optimizer reads those constants.
      nodes: [
        n('Shape', ['x'], ['dims']),
        n('Constant', [], ['first'], { value: { t: ints('value', [0], []) } }),
        n('Gather', ['dims', 'first'], ['rows'], { axis: { i: 0 } }),
        n('Constant', [], ['axes'], { value: { t: ints('value', [0]) } }),
        n('Unsqueeze', ['rows', 'axes'], ['rows1']),
        n('Constant', [], ['rest'], { value: { t: ints('value', [-1]) } }),
        n('Identity', ['rest'], ['rest1']),
        n('Concat', ['rows1', 'rest1'], ['shape'], { axis: { i: 0 } }),
        n('Reshape', ['x', 'shape'], ['y']),
      ],
    }),
    m('op-expand', single('expand', 'Expand', io('x', [3, 1]), [ints('shape', [2, 3, 4])], io('y', [2, 3, 4]))),
    m(
      'op-resize-scales',
      single(
        'resize-scales',
        'Resize',
        io('x', [1, 1, 2, 2]),
        [{ name: 'scales', dataType: F, dims: [4], values: [1, 1, 2, 2] }],
        io('y', [1, 1, 4, 4]),
        { mode: { s: 'nearest' } },
        [''],
      ),
    ),
    m(
      'op-resize-sizes',
      single(
        'resize-sizes',
        'Resize',
        io('x', [1, 1, 2, 2]),
        [ints('sizes', [1, 1, 3, 5])],
        io('y', [1, 1, 3, 5]),
        { mode: { s: 'linear' } },
        ['', ''],
      ),
    ),
    m(
      'op-pad',
      single(
        'pad',
        'Pad',
        io('x', [2, 3]),
        [ints('pads', [1, 0, 0, 2]), { name: 'value', dataType: F, dims: [], values: [0.25] }],
        io('y', [3, 5]),
      ),
    ),
    m('op-topk', {
      name: 'topk',
      inputs: [io('x', [3, 5])],
      outputs: [io('values', [3, 2]), io('indices', [3, 2], I64)],
      initializers: [ints('k', [2])],
      nodes: [n('TopK', ['x', 'k'], ['values', 'indices'])],
    }),
    m('op-split', {
      name: 'split',
      inputs: [io('x', [6, 2])],
      outputs: [io('a', [2, 2]), io('b', [4, 2])],
      initializers: [ints('split', [2, 4])],
      nodes: [n('Split', ['x', 'split'], ['a', 'b'], { axis: { i: 0 } })],
    }),
    m('op-onehot', {
      name: 'onehot',
      inputs: [io('indices', [4], I64)],
      outputs: [io('y', [4, 5])],
      initializers: [ints('depth', [5], []), { name: 'values', dataType: F, dims: [2], values: [0, 1] }],
      nodes: [n('OneHot', ['indices', 'depth', 'values'], ['y'])],
    }),
    m('op-range', {
      name: 'range',
      inputs: [io('x', [5])],
      outputs: [io('y', [5])],
      initializers: [
        { name: 'start', dataType: F, dims: [], values: [1] },
        { name: 'limit', dataType: F, dims: [], values: [6] },
        { name: 'delta', dataType: F, dims: [], values: [1] },
      ],
      nodes: [n('Range', ['start', 'limit', 'delta'], ['r']), n('Mul', ['x', 'r'], ['y'])],
    }),
    m('range-dynamic', {
      // Range over a runtime length: ORT folds nothing, the output shape is data-dependent.
      name: 'range-dynamic',
      inputs: [io('x', ['n'])],
      outputs: [io('y', ['n'])],
      initializers: [ints('zero', [0], []), ints('one', [1], []), ints('axis0', [0])],
      nodes: [
        n('Shape', ['x'], ['shape']),
        n('Gather', ['shape', 'zero'], ['len'], { axis: { i: 0 } }),
        n('Range', ['zero', 'len', 'one'], ['r']),
        n('Cast', ['r'], ['rf'], { to: { i: F } }),
        n('Add', ['x', 'rf'], ['y']),
      ],
    }),
  ];
}

/** IR 3, opset 9: initializers repeated among the graph inputs, as the older model-zoo exports are. */
function ir3(): CorpusModel[] {
  const c = 4;
  const cnn: TinyGraph = {
    name: 'ir3-cnn',
    inputs: [io('data', [1, 3, 8, 8])],
    outputs: [io('prob', [1, 5])],
    initializers: [
      w('conv1_w', [c, 3, 3, 3]),
      w('conv1_b', [c]),
      w('bn_scale', [c], F, 1),
      w('bn_bias', [c]),
      w('bn_mean', [c], F, 0.1),
      { name: 'bn_var', dataType: F, dims: [c], values: [1, 0.5, 2, 1.5] },
      w('conv2_w', [c, c, 1, 1]),
      w('conv2_b', [c]),
      ints('flat_SHAPE', [1, c * 4 * 4]),
      ints('conv2_b_0__SHAPE', [1, c, 4, 4]),
      w('fc_w', [5, c * 4 * 4]),
      w('fc_b', [5]),
    ],
    nodes: [
      n('Conv', ['data', 'conv1_w', 'conv1_b'], ['c1'], {
        pads: { ints: [1, 1, 1, 1] },
        kernel_shape: { ints: [3, 3] },
      }),
      n('BatchNormalization', ['c1', 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'], ['b1'], { epsilon: { f: 1e-5 } }),
      n('Relu', ['b1'], ['r1']),
      n('MaxPool', ['r1'], ['p1'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }),
      n('Conv', ['p1', 'conv2_w', 'conv2_b'], ['c2'], { kernel_shape: { ints: [1, 1] } }),
      // A zero bias made by ConstantOfShape from a shape initializer, as caffe2 exports have: ORT folds it.
      n('ConstantOfShape', ['conv2_b_0__SHAPE'], ['zero']),
      n('Add', ['c2', 'zero'], ['c2z']),
      n('Relu', ['c2z'], ['r2']),
      n('Reshape', ['r2', 'flat_SHAPE'], ['flat']),
      n('Gemm', ['flat', 'fc_w', 'fc_b'], ['logits'], { transB: { i: 1 } }),
      n('Softmax', ['logits'], ['prob']),
    ],
  };
  const mlp: TinyGraph = {
    name: 'ir3-mlp',
    inputs: [io('x', [2, 8])],
    outputs: [io('y', [2, 4])],
    initializers: [w('w0', [8, 16]), w('b0', [16]), w('w1', [16, 4])],
    nodes: [
      n('MatMul', ['x', 'w0'], ['m0']),
      n('Add', ['m0', 'b0'], ['a0']),
      n('Relu', ['a0'], ['h']),
      n('MatMul', ['h', 'w1'], ['y']),
    ],
  };
  const o = { irVersion: 3, opset: 9, initializersAsInputs: true };
  return [
    { name: 'ir3-cnn', family: 'IR 3, initializers as inputs', bytes: encodeTinyModel(cnn, o) },
    { name: 'ir3-mlp', family: 'IR 3, initializers as inputs', bytes: encodeTinyModel(mlp, o) },
    // IR 4+ with initializers among the inputs: ONNX Runtime treats them as overridable defaults.
    {
      name: 'ir8-initializer-inputs',
      family: 'IR 8, initializers as inputs',
      bytes: encodeTinyModel(mlp, { initializersAsInputs: true }),
    },
  ];
}

function float16(): CorpusModel[] {
  const d = 8;
  const mlp: TinyGraph = {
    name: 'fp16-mlp',
    inputs: [io('x', ['batch', d], H)],
    outputs: [io('y', ['batch', d], H)],
    initializers: [w('w0', [d, d], H), w('b0', [d], H), w('w1', [d, d], H)],
    nodes: [
      n('MatMul', ['x', 'w0'], ['m0']),
      n('Add', ['m0', 'b0'], ['a0']),
      n('Relu', ['a0'], ['h']),
      n('MatMul', ['h', 'w1'], ['y']),
    ],
  };
  // One self-attention head with LayerNorm and a residual, all in float16.
  const attention: TinyGraph = {
    name: 'fp16-attention',
    inputs: [io('x', [1, 'seq', d], H)],
    outputs: [io('y', [1, 'seq', d], H)],
    initializers: [
      w('wq', [d, d], H),
      w('wk', [d, d], H),
      w('wv', [d, d], H),
      w('wo', [d, d], H),
      { name: 'scale', dataType: H, dims: [], values: [1 / Math.sqrt(d)] },
      w('ln_g', [d], H, 1),
      w('ln_b', [d], H, 0.1),
    ],
    nodes: [
      n('LayerNormalization', ['x', 'ln_g', 'ln_b'], ['xn'], { axis: { i: -1 } }),
      n('MatMul', ['xn', 'wq'], ['q']),
      n('MatMul', ['xn', 'wk'], ['k']),
      n('MatMul', ['xn', 'wv'], ['v']),
      n('Transpose', ['k'], ['kt'], { perm: { ints: [0, 2, 1] } }),
      n('MatMul', ['q', 'kt'], ['s0']),
      n('Mul', ['s0', 'scale'], ['s']),
      n('Softmax', ['s'], ['p'], { axis: { i: -1 } }),
      n('MatMul', ['p', 'v'], ['ctx']),
      n('MatMul', ['ctx', 'wo'], ['o']),
      n('Add', ['x', 'o'], ['y']),
    ],
  };
  return [
    { name: 'fp16-mlp', family: 'float16', bytes: encodeTinyModel(mlp) },
    { name: 'fp16-attention', family: 'float16 attention', bytes: encodeTinyModel(attention) },
  ];
}

function controlFlow(): CorpusModel[] {
  const d = 4;
  const thenG: TinyGraph = {
    name: 'then',
    inputs: [],
    outputs: [io('t', [d])],
    nodes: [n('Add', ['x', 'bias'], ['t'])],
  };
  const elseG: TinyGraph = {
    name: 'else',
    inputs: [],
    outputs: [io('e', [d])],
    nodes: [n('Mul', ['x', 'gain'], ['e'])],
  };
  const ifModel: TinyGraph = {
    name: 'if',
    inputs: [io('cond', [], Onnx.BOOL), io('x', [d])],
    outputs: [io('y', [d])],
    initializers: [w('bias', [d]), w('gain', [d])],
    nodes: [n('If', ['cond'], ['y'], { then_branch: { g: thenG }, else_branch: { g: elseG } })],
  };
  const body: TinyGraph = {
    name: 'body',
    inputs: [io('iter', [], I64), io('cond_in', [], Onnx.BOOL), io('acc_in', [d])],
    outputs: [io('cond_out', [], Onnx.BOOL), io('acc_out', [d])],
    initializers: [w('step', [d])],
    nodes: [
      n('Identity', ['cond_in'], ['cond_out']),
      n('Add', ['acc_in', 'step'], ['a']),
      n('Mul', ['a', 'gain'], ['acc_out']),
    ],
  };
  const loop: TinyGraph = {
    name: 'loop',
    inputs: [io('x', [d])],
    outputs: [io('y', [d])],
    initializers: [
      ints('trip', [3], []),
      { name: 'keep_going', dataType: Onnx.BOOL, dims: [], values: [1] },
      w('gain', [d], F, 1),
    ],
    nodes: [n('Loop', ['trip', 'keep_going', 'x'], ['y'], { body: { g: body } })],
  };
  const scanBody: TinyGraph = {
    name: 'scan-body',
    inputs: [io('sum_in', [d]), io('row', [d])],
    outputs: [io('sum_out', [d]), io('cum', [d])],
    nodes: [
      n('Add', ['sum_in', 'row'], ['s']),
      n('Mul', ['s', 'gain'], ['sum_out']),
      n('Identity', ['sum_out'], ['cum']),
    ],
  };
  const scan: TinyGraph = {
    name: 'scan',
    inputs: [io('rows', [3, d])],
    outputs: [io('total', [d]), io('cums', [3, d])],
    initializers: [{ name: 'init', dataType: F, dims: [d], values: [0, 0, 0, 0] }, w('gain', [d], F, 1)],
    nodes: [n('Scan', ['init', 'rows'], ['total', 'cums'], { body: { g: scanBody }, num_scan_inputs: { i: 1 } })],
  };
  // A branch that yields an empty constant (torchvision's detection heads do): an empty tensor must never be external data.
  const emptyThen: TinyGraph = {
    name: 'empty-then',
    inputs: [],
    outputs: [io('t', [0])],
    nodes: [n('Constant', [], ['t'], { value: { t: { name: 'value', dataType: F, dims: [0], values: [] } } })],
  };
  const copyElse: TinyGraph = {
    name: 'copy-else',
    inputs: [],
    outputs: [io('e', [d])],
    nodes: [n('Identity', ['x'], ['e'])],
  };
  const ifEmpty: TinyGraph = {
    name: 'if-empty',
    inputs: [io('cond', [], Onnx.BOOL), io('x', [d])],
    outputs: [io('y', ['n'])],
    nodes: [n('If', ['cond'], ['y'], { then_branch: { g: emptyThen }, else_branch: { g: copyElse } })],
  };
  return [
    { name: 'control-if', family: 'If', bytes: encodeTinyModel(ifModel) },
    { name: 'control-if-empty-branch', family: 'If with an empty constant', bytes: encodeTinyModel(ifEmpty) },
    { name: 'control-loop', family: 'Loop', bytes: encodeTinyModel(loop) },
    { name: 'control-scan', family: 'Scan', bytes: encodeTinyModel(scan) },
  ];
}

function rejected(): CorpusModel[] {
  const g: TinyGraph = {
    name: 'relu',
    inputs: [io('x', [2])],
    outputs: [io('y', [2])],
    nodes: [n('Relu', ['x'], ['y'])],
  };
  return [
    {
      name: 'reject-opset',
      family: 'opset newer than ONNX Runtime',
      ortRejects: true,
      bytes: encodeTinyModel(g, { opset: 99 }),
    },
    {
      name: 'reject-operator',
      family: 'operator ONNX Runtime lacks',
      ortRejects: true,
      bytes: encodeTinyModel({ ...g, nodes: [n('NoSuchOperator', ['x'], ['y'])] }),
    },
    {
      name: 'reject-bfloat16',
      family: 'bfloat16 input (no CPU kernel for Relu)',
      ortRejects: true,
      bytes: encodeTinyModel({ ...g, inputs: [io('x', [2], Onnx.BFLOAT16)], outputs: [io('y', [2], Onnx.BFLOAT16)] }),
    },
    {
      // ORT 1.30 expands this function with a float constant and then refuses its own graph.
      name: 'reject-mvn-fp16',
      family: 'float16 MeanVarianceNormalization (ORT type error)',
      ortRejects: true,
      bytes: encodeTinyModel({
        name: 'mvn',
        inputs: [io('x', [1, 4, 2, 2], H)],
        outputs: [io('y', [1, 4, 2, 2], H)],
        nodes: [n('MeanVarianceNormalization', ['x'], ['y'])],
      }),
    },
  ];
}

/** Every corpus model, in table order. */
export function compatCorpus(): CorpusModel[] {
  return [...shapeOps(), ...ir3(), ...float16(), ...controlFlow(), ...rejected()];
}
