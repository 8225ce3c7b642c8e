// Suite 2, dedup: M fine-tuned variants of the BERT-shaped model that differ
// only in their last K encoder layers, imported into one repository and made
// resident in one store. Compares the bytes the repository and the store
// allocate (du) with the sum of the M model files.
import fs from 'node:fs/promises';
import path from 'node:path';
import { bert, fineTuned, tensorBytes, variedTensorNames, writeModel } from '../gen/index.js';
import { importModel } from '../store/import.js';
import { layout } from '../store/layout.js';
import { du } from '../store/maintenance.js';
import { materialize } from '../store/materialize.js';
import type { BenchContext } from './context.js';
import { BERT_SMALL } from './models.js';
import type { DedupCase } from './results.js';
import { treeBytes } from './fsbytes.js';

export function dedupPlan(quick: boolean): { variants: number; diffLayers: number[] } {
  return { variants: 4, diffLayers: quick ? [1] : [1, 2] };
}

export async function runDedup(ctx: BenchContext): Promise<DedupCase[]> {
  const plan = dedupPlan(ctx.quick);
  const base = bert(ctx.quick ? BERT_SMALL : {});
  const out: DedupCase[] = [];
  for (const k of plan.diffLayers) {
    ctx.log(`dedup: ${plan.variants} variants, last ${k} layer(s) differ`);
    const dir = await fs.mkdtemp(path.join(ctx.work, `dedup-${k}-`));
    const store = await fs.mkdtemp(path.join(ctx.shm, `dedup-${k}-`));
    try {
      const repository = path.join(dir, 'repo');
      let filesBytes = 0;
      const importMs: number[] = [];
      for (const spec of fineTuned(base, { variants: plan.variants, diffLayers: k })) {
        const file = path.join(dir, `${spec.name}.onnx`);
        await writeModel(spec, file);
        filesBytes += (await fs.stat(file)).size;
        const r = await importModel(repository, file, { name: spec.name });
        importMs.push(r.ms);
        await materialize(layout(repository), layout(store), r.manifest);
        await fs.rm(file); // keep the disk footprint to one model file at a time
      }
      const usage = await du(layout(repository));
      const repoTree = await treeBytes(repository);
      const storeTree = await treeBytes(store);
      const varied = new Set(variedTensorNames(base, k));
      out.push({
        model: 'bert',
        variants: plan.variants,
        diffLayers: k,
        filesBytes,
        repositoryBytes: repoTree.allocated,
        storeBytes: storeTree.allocated,
        logicalBytes: usage.logicalBytes,
        physicalBytes: usage.physicalBytes,
        variedBytesPerVariant: base.initializers
          .filter((t) => varied.has(t.name))
          .reduce((a, t) => a + tensorBytes(t), 0),
        importMs,
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(store, { recursive: true, force: true });
    }
  }
  return out;
}
