// A chain of MatMul+Add(+Relu): the simplest model whose size is exactly
// layers * width^2 * 4 bytes (plus biases), for memory-sharing benchmarks.

import { DataType, GraphBuilder, requirePositiveInt, type ModelSpec } from './spec.js';

export interface MlpConfig {
  layers: number;
  width: number;
  seed: number;
}

/** 4 x 2048x2048 float32: 64 MiB of weights. */
export const MLP_DEFAULT: Readonly<MlpConfig> = Object.freeze({ layers: 4, width: 2048, seed: 0 });
/** 3 x 16384x16384 float32: 3 GiB, beyond protobuf's 2 GiB limit, so external data only. */
export const MLP_BIG: Readonly<MlpConfig> = Object.freeze({ layers: 3, width: 16384, seed: 0 });

/** A tiny MLP for tests. */
export const MLP_TINY: Readonly<MlpConfig> = Object.freeze({ layers: 3, width: 32, seed: 0 });

/** Describes an MLP. Trainable unit i is layer i (weight + bias). Relu follows every layer but the last. */
export function mlp(config: Partial<MlpConfig> = {}): ModelSpec {
  const c: MlpConfig = { ...MLP_DEFAULT, ...config };
  requirePositiveInt(c.layers, 'mlp layers');
  requirePositiveInt(c.width, 'mlp width');
  const g = new GraphBuilder();
  let x = 'x';
  for (let i = 0; i < c.layers; i++) {
    const last = i === c.layers - 1;
    // He-uniform range sqrt(6/fan_in) keeps activation variance steady under Relu.
    const scale = Math.sqrt((last ? 3 : 6) / c.width);
    const w = g.weight(`layers.${i}.weight`, [c.width, c.width], { kind: 'uniform', scale }, i);
    const b = g.weight(`layers.${i}.bias`, [c.width], { kind: 'uniform', scale: 0.01 }, i);
    const mm = g.op('MatMul', [x, w], `layers.${i}/MatMul`);
    if (last) {
      g.nodes.push({ opType: 'Add', name: `layers.${i}/Add`, inputs: [mm, b], outputs: ['y'] });
    } else {
      x = g.op('Relu', [g.op('Add', [mm, b], `layers.${i}/Add`)], `layers.${i}/Relu`);
    }
  }
  return {
    kind: 'mlp',
    name: 'mlp',
    config: { ...c },
    seed: c.seed,
    layerCount: c.layers,
    nodes: g.nodes,
    inputs: [{ name: 'x', dataType: DataType.FLOAT, dims: ['batch', c.width] }],
    outputs: [{ name: 'y', dataType: DataType.FLOAT, dims: ['batch', c.width] }],
    initializers: g.initializers,
  };
}
