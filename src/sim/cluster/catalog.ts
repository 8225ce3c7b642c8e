// The functions of a simulated cluster and the models they serve, with the
// tensors those models share. Models come from the generator's own specs
// (src/gen: BERT-base, ResNet-50, MLP shapes and fine-tuned variants), so the
// bytes and the sharing are those the product's dedup sees: variants of one
// family share every tensor but their last K trainable units; unrelated
// models (other seeds) share only literal constants.
//
// Tensors are grouped into segments: the tensors used by exactly the same set
// of models. Residency is per model, so all tensors of a segment are always
// resident together; scoring segments gives the same bytes as scoring tensors.
import { TensorshareError } from '../../errors.js';
import { bert, fineTuned, mlp, resnet50 } from '../../gen/index.js';
import { tensorBytes, type ModelKind, type ModelSpec } from '../../gen/spec.js';
import type { ModelTensors } from '../../placement/scorer.js';
import { Xoshiro128 } from '../../prng.js';

export interface CatalogOptions {
  functions: number;
  /** Fraction of functions whose model belongs to a fine-tuned family. */
  familyFraction: number;
  /** Models per family: one base plus familySize - 1 variants. */
  familySize: number;
  /** Trainable units a variant changes (the generator's diffLayers). */
  diffLayers: number;
  seed: string;
}

export const DEFAULT_CATALOG: Omit<CatalogOptions, 'functions' | 'seed'> = {
  familyFraction: 0.6,
  familySize: 10,
  diffLayers: 2,
};

export interface SimModel {
  readonly name: string;
  readonly kind: ModelKind;
  /** -1 for an unrelated model. */
  readonly family: number;
  readonly bytes: number;
  /** Segment indices, ascending. */
  readonly segments: Int32Array;
  /** The model as the placement scorer sees it (hash = segment id). */
  readonly tensors: ModelTensors;
}

export interface Catalog {
  /** models[f] is function f's model (one model per function). */
  readonly models: readonly SimModel[];
  readonly segmentBytes: Float64Array;
  readonly segmentHash: readonly string[];
  /** Bytes of all distinct segments: the store bytes of every model once, deduplicated. */
  readonly uniqueBytes: number;
  /** Sum of model bytes: what private copies would take. */
  readonly logicalBytes: number;
  /** The tensor-level view of a model (hash = content identity), for checks that segments score alike. */
  tensorsOf(model: number): ModelTensors;
}

// Shares of model kinds, near the benchmark's: BERT-sized, ResNet-sized, small MLPs.
const KINDS: readonly { kind: ModelKind; weight: number }[] = [
  { kind: 'bert', weight: 0.3 },
  { kind: 'resnet50', weight: 0.4 },
  { kind: 'mlp', weight: 0.3 },
];

/** The import's default inline limit: smaller initializers stay in the graph. */
const INLINE_BYTES = 1024;

const BASES: Record<ModelKind, () => ModelSpec> = { bert: () => bert(), resnet50: () => resnet50(), mlp: () => mlp() };

export function buildCatalog(opts: CatalogOptions): Catalog {
  const { functions, familyFraction, familySize, diffLayers } = opts;
  if (!Number.isInteger(functions) || functions < 1)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `functions must be a positive integer, got ${functions}`);
  if (!(familyFraction >= 0 && familyFraction <= 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `familyFraction must be in [0, 1], got ${familyFraction}`);
  if (!Number.isInteger(familySize) || familySize < 2)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `familySize must be an integer >= 2, got ${familySize}`);
  const rng = new Xoshiro128(`${opts.seed}:catalog`);
  const pickKind = (): ModelKind => {
    let u = rng.nextFloat();
    for (const k of KINDS) {
      u -= k.weight;
      if (u < 0) return k.kind;
    }
    return KINDS[KINDS.length - 1]!.kind;
  };
  const bases = new Map<ModelKind, ModelSpec>();
  const baseOf = (k: ModelKind): ModelSpec => {
    const known = bases.get(k);
    if (known) return known;
    const b = BASES[k]();
    bases.set(k, b);
    return b;
  };

  // Each model as a list of tensor identities. The generator's bytes depend
  // on (seed, name, salt) for generated values and on the values for literals.
  const specs: { name: string; kind: ModelKind; family: number; keys: string[]; bytes: number[] }[] = [];
  // Initializers under the import's inline limit stay in the model's graph
  // file (src/store/import.ts), which no other model shares.
  const identity = (spec: ModelSpec, seed: number, name: string, t: ModelSpec['initializers'][number]): string =>
    tensorBytes(t) < INLINE_BYTES
      ? `${name}:graph`
      : t.fill.kind === 'values'
        ? `${t.dataType}:${t.dims.join('x')}:${t.fill.values.join(',')}`
        : `${spec.kind}:${seed}:${t.name}:${t.salt ?? ''}`;
  const add = (spec: ModelSpec, seed: number, name: string, family: number) => {
    specs.push({
      name,
      kind: spec.kind,
      family,
      keys: spec.initializers.map((t) => identity(spec, seed, name, t)),
      bytes: spec.initializers.map(tensorBytes),
    });
  };
  const familyFunctions = Math.round(functions * familyFraction);
  let family = 0;
  let seed = 1;
  while (specs.length < familyFunctions) {
    const kind = pickKind();
    const base = baseOf(kind);
    const n = Math.min(familySize, familyFunctions - specs.length);
    const s = seed++;
    add(base, s, `${kind}-${s}`, family);
    if (n > 1) {
      for (const v of fineTuned(base, { variants: n - 1, diffLayers: Math.min(diffLayers, base.layerCount), seed: s }))
        add(v, s, `${kind}-${s}${v.name.slice(base.name.length)}`, family);
    }
    family++;
  }
  while (specs.length < functions) {
    const kind = pickKind();
    const s = seed++;
    add(baseOf(kind), s, `${kind}-${s}`, -1);
  }

  // Group tensors by the set of models that use them.
  const usersOf = new Map<string, { bytes: number; users: number[] }>();
  specs.forEach((m, i) => {
    m.keys.forEach((k, j) => {
      const e = usersOf.get(k);
      if (!e) usersOf.set(k, { bytes: m.bytes[j]!, users: [i] });
      else if (e.users[e.users.length - 1] !== i) e.users.push(i);
      else if (k.endsWith(':graph')) e.bytes += m.bytes[j]!; // inline tensors add up in the graph file
    });
  });
  const segOf = new Map<string, number>();
  const segBytes: number[] = [];
  const modelSegs: Set<number>[] = specs.map(() => new Set());
  for (const e of usersOf.values()) {
    const sig = e.users.join(',');
    let s = segOf.get(sig);
    if (s === undefined) {
      s = segBytes.length;
      segOf.set(sig, s);
      segBytes.push(0);
    }
    segBytes[s]! += e.bytes;
    for (const u of e.users) modelSegs[u]!.add(s);
  }
  const segmentHash = segBytes.map((_, i) => `seg-${i}`);
  const models: SimModel[] = specs.map((m, i) => {
    const segments = Int32Array.from([...modelSegs[i]!].sort((a, b) => a - b));
    let bytes = 0;
    for (const s of segments) bytes += segBytes[s]!;
    return {
      name: m.name,
      kind: m.kind,
      family: m.family,
      bytes,
      segments,
      tensors: { model: m.name, tensors: [...segments].map((s) => ({ hash: segmentHash[s]!, bytes: segBytes[s]! })) },
    };
  });
  return {
    models,
    segmentBytes: Float64Array.from(segBytes),
    segmentHash,
    uniqueBytes: segBytes.reduce((a, b) => a + b, 0),
    logicalBytes: models.reduce((a, m) => a + m.bytes, 0),
    tensorsOf(i) {
      const m = specs[i];
      if (!m) throw new TensorshareError('ERR_INVALID_ARGUMENT', `no model ${i}`);
      const seen = new Map<string, number>();
      m.keys.forEach((k, j) => {
        // Inline tensors add up in the graph file; a repeated identity is one file.
        seen.set(k, k.endsWith(':graph') ? (seen.get(k) ?? 0) + m.bytes[j]! : m.bytes[j]!);
      });
      return { model: m.name, tensors: [...seen].map(([hash, bytes]) => ({ hash, bytes })) };
    },
  };
}
