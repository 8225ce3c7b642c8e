// Fine-tuned variants: copies of a base spec whose last K trainable units get
// a different PRNG salt. Every other tensor keeps its name, shape and seed, so
// its bytes are identical to the base's and to every other variant's.

import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { requirePositiveInt, type ModelSpec } from './spec.js';

export interface VariantOptions {
  /** How many variants (M). */
  variants: number;
  /** How many trailing trainable units differ (K), 1..layerCount. */
  diffLayers: number;
  /** Distinguishes one family of variants from another; default 0. */
  seed?: number;
}

/** Returns M specs, variant i (1-based) named `${base.name}-ft${i}`. */
export function fineTuned(base: ModelSpec, opts: VariantOptions): ModelSpec[] {
  const m = requirePositiveInt(opts.variants, 'variants');
  const k = requirePositiveInt(opts.diffLayers, 'diffLayers');
  const seed = opts.seed ?? 0;
  if (k > base.layerCount) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `diffLayers ${k} exceeds the ${base.layerCount} trainable units of ${base.name}`,
      { diffLayers: k, layerCount: base.layerCount },
    );
  }
  const first = base.layerCount - k;
  const out: ModelSpec[] = [];
  for (let i = 1; i <= m; i++) {
    const salt = `ft:${seed}:${i}`;
    out.push({
      ...base,
      name: `${base.name}-ft${i}`,
      variant: { index: i, diffLayers: k, seed },
      initializers: base.initializers.map((t) => (t.layer !== undefined && t.layer >= first ? { ...t, salt } : t)),
    });
  }
  return out;
}

/** Names of the tensors a variant with these options changes (for tests and summaries). */
export function variedTensorNames(base: ModelSpec, diffLayers: number): string[] {
  const first = base.layerCount - diffLayers;
  return base.initializers.filter((t) => t.layer !== undefined && t.layer >= first).map((t) => t.name);
}

/** File path of variant i next to `outPath`: dir/model.onnx -> dir/model-ft<i>.onnx. */
export function variantPath(outPath: string, index: number): string {
  const ext = path.extname(outPath) || '.onnx';
  const stem = outPath.endsWith(ext) ? outPath.slice(0, -ext.length) : outPath;
  return `${stem}-ft${index}${ext}`;
}
