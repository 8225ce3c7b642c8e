// `serve --plan FILE`: a catalog whose functions read with the planned
// settings (tensorshare plan's output) in place of their own: instances
// (kept running: minInstances = maxInstances), intra-op threads, batch cap,
// device. Functions the plan does not name read unchanged.
import type { PlanFile, PlannedFunction } from '../../plan/plan-file.js';
import type { FunctionConfig } from './config.js';
import type { FunctionCatalog } from './repository.js';

export function applyPlanned(config: FunctionConfig, p: PlannedFunction): FunctionConfig {
  const batching =
    config.batching || p.maxBatchSize > 1
      ? {
          ...config.batching,
          maxBatchSize: p.maxBatchSize,
          ...(config.batching?.preferredBatchSizes
            ? { preferredBatchSizes: config.batching.preferredBatchSizes.filter((s) => s <= p.maxBatchSize) }
            : {}),
        }
      : undefined;
  const device =
    p.device === undefined
      ? config.device
      : p.device === 'gpu'
        ? { gpu: undefined }
        : p.device === 'cpu'
          ? 'cpu'
          : { gpu: Number(p.device.slice(4)) };
  return {
    ...config,
    minInstances: p.instances,
    maxInstances: p.instances,
    intraOpThreads: p.intraOpThreads,
    device,
    ...(batching ? { batching } : {}),
  };
}

export function plannedCatalog<C extends FunctionCatalog>(catalog: C, plan: PlanFile): C {
  return {
    ...catalog,
    async read(name, fingerprint) {
      const def = await catalog.read(name, fingerprint);
      const p = plan.functions[name];
      return p ? { ...def, config: applyPlanned(def.config, p) } : def;
    },
  };
}

/** The functions a plan names that the catalog does not have (a typo, or a plan for another repository). */
export async function unknownPlanned(catalog: FunctionCatalog, plan: PlanFile): Promise<string[]> {
  const names = new Set(await catalog.list());
  return Object.keys(plan.functions).filter((n) => !names.has(n));
}
