// Making a model resident in a mode: the one sequence every writer of the
// store follows -- the daemon (src/daemon/admission.ts, with budget, single
// flight and the store queue around each step) and daemonless residency
// (localSteps below, used by src/client/residency.ts). fast-open needs the
// model's own files; fast-run needs its variant (built into the repository
// first when there is none, which needs the model resident), or falls back
// to fast-open when ONNX Runtime could not build a loadable one.
import { fastRunKey, findFastRun } from './fast-run-key.js';
import { isResident, variantPath, type Layout } from './layout.js';
import type { Manifest, OpenMode, VariantManifest } from './manifest.js';
import fs from 'node:fs/promises';

export interface ResidencySteps<H> {
  /** Makes the model's own (fast-open) files resident; H is what the writer holds on them. */
  model(): Promise<H>;
  /** The model's fast-run variant for this ORT version and CPU, built first if the repository has none. */
  variant(): Promise<VariantManifest>;
  /** Makes a variant's files resident. */
  variantFiles(v: VariantManifest, key: string): Promise<H>;
}

export interface Residence<H> {
  /** The mode the resident files serve (fast-run falls back to fast-open, see above). */
  mode: OpenMode;
  /** The variant looked at for fast-run (its `status` and `reason` say why a fallback happened). */
  variant?: VariantManifest;
  held: H;
}

export async function makeResident<H>(mode: OpenMode, steps: ResidencySteps<H>): Promise<Residence<H>> {
  if (mode === 'fast-open') return { mode, held: await steps.model() };
  const variant = await steps.variant();
  // ORT could not build a loadable variant for this model (reason in the variant manifest).
  if (variant.status !== 'ok') return { mode: 'fast-open', variant, held: await steps.model() };
  return {
    mode: 'fast-run',
    variant,
    held: await steps.variantFiles(variant, fastRunKey(variant.ortVersion, variant.target)),
  };
}

/** Daemonless steps: copy what is missing (safe from several processes at once), build in a child process. H: whether this call copied files. */
export function localSteps(repo: Layout, store: Layout, m: Manifest): ResidencySteps<boolean> {
  const model = async () => {
    if (await isResident(store, m)) return false;
    const { materialize } = await import('./materialize.js'); // only when something is missing
    await materialize(repo, store, m);
    return true;
  };
  return {
    model,
    async variant() {
      const existing = await findFastRun(repo, m.digest);
      if (existing) return existing;
      await model(); // ORT reads the model from the store to optimize it
      // Loaded only to build: an open of a model that has its variant never needs the builder's modules.
      const { buildFastRunIsolated } = await import('./runtime-process.js');
      return (await buildFastRunIsolated(repo, store, m)).variant;
    },
    async variantFiles(v, key) {
      const present = await fs.access(variantPath(store, v.modelDigest, key)).then(
        () => true,
        () => false,
      );
      if (present) return false;
      const { materializeVariant } = await import('./materialize.js');
      await materializeVariant(repo, store, v, key);
      return true;
    },
  };
}
