// Proves a fast-run variant is the same model before anyone uses it. That it
// loads is not enough: ONNX Runtime's saved optimized model can change the
// interface (IR 3 models grew required inputs after constant folding) or
// come out far larger than the model. The variant must have the same inputs
// and outputs (names, types, shapes) as plain ONNX Runtime reports for the
// model, give bit-identical outputs on a deterministic probe input, and stay
// within a size bound; otherwise it is unavailable, with the reason, and
// opens use fast-open.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { planFeeds, type InputMetadata } from '../tensor/feeds.js';

type Ort = typeof import('onnxruntime-node');

/** A variant may add prepacked blobs (about the weights' size again); beyond this it is a blow-up, not packing. */
export const MAX_GROWTH = 4;
/** Small models may legitimately grow by more than MAX_GROWTH: this much extra is always allowed. */
export const GROWTH_SLACK_BYTES = 16 << 20;

export interface VariantCheck {
  /** Why the variant must not be used; undefined when it passed. */
  problem?: string;
  /** 'passed', or why no probe ran (the reference itself could not run it). */
  probe: string;
}

/** Compares what two sessions report about their inputs and outputs; returns the first difference. */
export function interfaceDifference(model: InferenceSession, variant: InferenceSession): string | undefined {
  const describe = (m: readonly InferenceSession.ValueMetadata[]) =>
    m.map((v) => (v.isTensor ? `${v.name}: ${v.type}[${v.shape.join(',')}]` : `${v.name}: non-tensor`));
  for (const [what, a, b] of [
    ['inputs', model.inputMetadata, variant.inputMetadata],
    ['outputs', model.outputMetadata, variant.outputMetadata],
  ] as const) {
    const x = describe(a);
    const y = describe(b);
    if (x.join('; ') !== y.join('; '))
      return `the variant's ${what} differ from the model's: model ${x.join('; ') || 'none'}, variant ${y.join('; ') || 'none'}`;
  }
  return undefined;
}

/** Deterministic feeds for a session's inputs (symbolic dimensions = 1). */
export function probeFeeds(ort: Ort, session: InferenceSession): Record<string, Tensor> {
  const plans = planFeeds(session.inputMetadata as readonly InputMetadata[]);
  return Object.fromEntries(
    plans.map((p) => [p.name, new ort.Tensor(p.type as Tensor.Type, p.data as Tensor.DataType, p.dims)]),
  );
}

/** Bytes of a tensor's data, for bit-exact comparison (strings joined). */
export function tensorBytes(t: Tensor): Buffer {
  const d = t.data as unknown;
  if (Array.isArray(d)) return Buffer.from(JSON.stringify(d));
  const v = d as ArrayBufferView;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** First output that differs between two runs (type, dims or any bit); undefined when all match. */
export function outputDifference(a: Record<string, Tensor>, b: Record<string, Tensor>): string | undefined {
  for (const name of Object.keys(a)) {
    const x = a[name]!;
    const y = b[name];
    if (!y) return `output '${name}' is missing`;
    if (x.type !== y.type || x.dims.join(',') !== y.dims.join(','))
      return `output '${name}' is ${y.type}[${y.dims.join(',')}], expected ${x.type}[${x.dims.join(',')}]`;
    const bx = tensorBytes(x);
    const by = tensorBytes(y);
    if (!bx.equals(by)) {
      let i = 0;
      while (i < bx.length && bx[i] === by[i]) i++;
      return `output '${name}' differs from byte ${i} of ${bx.length}`;
    }
  }
  return undefined;
}

/**
 * Checks a variant against the session ORT built it from (`reference`: the
 * original graph at ORT's default optimization level, i.e. plain ORT).
 */
export async function checkVariant(
  ort: Ort,
  reference: InferenceSession,
  openVariant: () => Promise<InferenceSession>,
  sizes: { modelBytes: number; variantNewBytes: number },
): Promise<VariantCheck> {
  const limit = sizes.modelBytes * MAX_GROWTH + GROWTH_SLACK_BYTES;
  if (sizes.variantNewBytes > limit) {
    return {
      probe: 'not run',
      problem: `the variant adds ${sizes.variantNewBytes} bytes of tensors for a model of ${sizes.modelBytes} (limit ${limit}): ONNX Runtime materialized constants instead of packing weights`,
    };
  }
  let variant: InferenceSession;
  try {
    variant = await openVariant();
  } catch (e) {
    return {
      probe: 'not run',
      problem: `ONNX Runtime cannot load the variant it saved: ${(e as Error).message.slice(0, 500)}`,
    };
  }
  try {
    const diff = interfaceDifference(reference, variant);
    if (diff) return { probe: 'not run', problem: diff };
    let feeds: Record<string, Tensor>;
    let expected: Record<string, Tensor>;
    try {
      feeds = probeFeeds(ort, reference);
      expected = await reference.run(feeds);
    } catch (e) {
      return {
        probe: `skipped: the model itself does not run on the probe input (${(e as Error).message.slice(0, 200)})`,
      };
    }
    let got: Record<string, Tensor>;
    try {
      got = await variant.run(feeds);
    } catch (e) {
      return {
        probe: 'failed',
        problem: `the variant fails on an input the model runs: ${(e as Error).message.slice(0, 300)}`,
      };
    }
    const out = outputDifference(expected, got);
    return out
      ? { probe: 'failed', problem: `the variant computes something else on the probe input: ${out}` }
      : { probe: 'passed' };
  } finally {
    await variant.release();
  }
}
