// ResNet-50 (torchvision v1.5: stride on the 3x3 conv) as an eval-mode export
// looks after BatchNorm folding: every Conv carries a bias, no BN nodes.

import { TensorshareError } from '../errors.js';
import { DataType, GraphBuilder, requirePositiveInt, type ModelSpec } from './spec.js';

export interface ResNetConfig {
  /** Bottleneck blocks per stage; ResNet-50 is [3, 4, 6, 3]. */
  blocks: readonly number[];
  /** Multiplies every channel width (64..2048 at 1). */
  widthMultiplier: number;
  imageSize: number;
  classes: number;
  seed: number;
}

export const RESNET50: Readonly<ResNetConfig> = Object.freeze({
  blocks: Object.freeze([3, 4, 6, 3]),
  widthMultiplier: 1,
  imageSize: 224,
  classes: 1000,
  seed: 0,
});

/** A ResNet of the same topology at 1/8 width on 32x32 images, for tests. */
export const RESNET_TINY: Readonly<Partial<ResNetConfig>> = Object.freeze({
  blocks: Object.freeze([1, 2, 1, 1]),
  widthMultiplier: 0.125,
  imageSize: 32,
  classes: 10,
});

/**
 * Describes a ResNet-50-shaped CNN. Trainable units for fine-tuned variants:
 * bottleneck block j (in order) is unit j, the classifier (fc) is the last
 * unit, so diffLayers=1 varies only the head. The stem never varies.
 */
export function resnet50(config: Partial<ResNetConfig> = {}): ModelSpec {
  const c: ResNetConfig = { ...RESNET50, ...config, blocks: [...(config.blocks ?? RESNET50.blocks)] };
  if (c.blocks.length === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', 'resnet50 blocks must list at least one stage', {
      blocks: c.blocks,
    });
  c.blocks.forEach((b, i) => {
    requirePositiveInt(b, `resnet50 blocks[${i}]`);
  });
  if (!(c.widthMultiplier > 0))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `resnet50 widthMultiplier must be > 0, got ${c.widthMultiplier}`,
    );
  requirePositiveInt(c.imageSize, 'resnet50 imageSize');
  requirePositiveInt(c.classes, 'resnet50 classes');
  // Each stride-2 step needs a non-empty feature map: stem (/4) plus one /2 per later stage.
  const minSize = 4 * 2 ** (c.blocks.length - 1);
  if (c.imageSize < minSize)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `resnet50 imageSize must be >= ${minSize} for ${c.blocks.length} stages`,
      { imageSize: c.imageSize },
    );

  const width = (w: number) => Math.max(1, Math.round(w * c.widthMultiplier));
  const g = new GraphBuilder();
  let unit = 0;

  // Weight range sqrt(3/fan_in) keeps activation scale roughly constant
  // through Conv+Relu; the block's last conv is damped (like zero-init
  // residual BN gammas) so 16 residual additions do not blow up magnitudes.
  const conv = (
    prefix: string,
    x: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    layer: number | undefined,
    damp = 1,
  ): string => {
    const fanIn = cin * k * k;
    const w = g.weight(
      `${prefix}.weight`,
      [cout, cin, k, k],
      { kind: 'uniform', scale: damp * Math.sqrt(3 / fanIn) },
      layer,
    );
    const b = g.weight(`${prefix}.bias`, [cout], { kind: 'uniform', scale: 0.05 }, layer);
    const pad = (k - 1) >> 1;
    return g.op('Conv', [x, w, b], `${prefix}/Conv`, {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
      dilations: [1, 1],
      group: 1,
    });
  };

  const stemW = width(64);
  let x = conv('conv1', 'input', 3, stemW, 7, 2, undefined);
  x = g.op('Relu', [x], 'relu/Relu');
  x = g.op('MaxPool', [x], 'maxpool/MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });

  let cin = stemW;
  c.blocks.forEach((count, stage) => {
    const planes = width(64 * 2 ** stage);
    const cout = planes * 4;
    for (let j = 0; j < count; j++) {
      const p = `layer${stage + 1}.${j}`;
      const stride = j === 0 && stage > 0 ? 2 : 1;
      const layer = unit++;
      let y = g.op('Relu', [conv(`${p}.conv1`, x, cin, planes, 1, 1, layer)], `${p}.relu1/Relu`);
      y = g.op('Relu', [conv(`${p}.conv2`, y, planes, planes, 3, stride, layer)], `${p}.relu2/Relu`);
      y = conv(`${p}.conv3`, y, planes, cout, 1, 1, layer, 0.2);
      const shortcut = j === 0 ? conv(`${p}.downsample.0`, x, cin, cout, 1, stride, layer) : x;
      x = g.op('Relu', [g.op('Add', [y, shortcut], `${p}/Add`)], `${p}.relu3/Relu`);
      cin = cout;
    }
  });

  const pooled = g.op('GlobalAveragePool', [x], 'avgpool/GlobalAveragePool');
  const flat = g.op('Flatten', [pooled], 'Flatten', { axis: 1 });
  const fcLayer = unit++;
  const fw = g.weight('fc.weight', [c.classes, cin], { kind: 'uniform', scale: 1 / Math.sqrt(cin) }, fcLayer);
  const fb = g.weight('fc.bias', [c.classes], { kind: 'uniform', scale: 1 / Math.sqrt(cin) }, fcLayer);
  g.nodes.push({
    opType: 'Gemm',
    name: 'fc/Gemm',
    inputs: [flat, fw, fb],
    outputs: ['logits'],
    attrs: { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 },
  });

  return {
    kind: 'resnet50',
    name: 'resnet50',
    config: { ...c },
    seed: c.seed,
    layerCount: unit,
    nodes: g.nodes,
    inputs: [{ name: 'input', dataType: DataType.FLOAT, dims: ['batch', 3, c.imageSize, c.imageSize] }],
    outputs: [{ name: 'logits', dataType: DataType.FLOAT, dims: ['batch', c.classes] }],
    initializers: g.initializers,
  };
}
