// The plan file `tensorshare plan --out` writes and `serve --plan` applies:
// per function, the settings that replace those of its config (instances,
// intra-op threads, batch cap, device). Plain JSON; parsing checks every
// field so a hand-edited plan fails naming the function and the field.
import { TensorshareError } from '../errors.js';

export const PLAN_FORMAT = 'tensorshare.plan/v1';

export interface PlannedFunction {
  /** Instances kept running (serve's minInstances and maxInstances). */
  instances: number;
  intraOpThreads: number;
  /** Batch cap (batching.maxBatchSize); 1 runs one request at a time. */
  maxBatchSize: number;
  /** Where its model runs (realtime functions on a GPU machine); default: the function's own setting. */
  device?: 'cpu' | 'gpu' | `gpu:${number}`;
}

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  functions: Record<string, PlannedFunction>;
}

export function parsePlanFile(raw: unknown, where: string): PlanFile {
  const bad = (why: string) => new TensorshareError('ERR_INVALID_ARGUMENT', `${where}: ${why}`, { where });
  if (typeof raw !== 'object' || raw === null) throw bad('a plan must be a JSON object');
  const o = raw as Partial<PlanFile>;
  if (o.format !== PLAN_FORMAT) throw bad(`format must be "${PLAN_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (typeof o.functions !== 'object' || o.functions === null) throw bad('functions must be an object');
  const out: Record<string, PlannedFunction> = {};
  for (const [fn, p] of Object.entries(o.functions)) {
    const int = (field: keyof PlannedFunction) => {
      const v = (p as unknown as Record<string, unknown>)?.[field];
      if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1))
        throw bad(`functions.${fn}.${field} must be an integer >= 1, got ${JSON.stringify(v)}`);
      return v;
    };
    const device = (p as PlannedFunction).device;
    if (device !== undefined && !/^(cpu|gpu(:\d+)?)$/.test(String(device)))
      throw bad(`functions.${fn}.device must be cpu, gpu or gpu:N, got ${JSON.stringify(device)}`);
    out[fn] = {
      instances: int('instances'),
      intraOpThreads: int('intraOpThreads'),
      maxBatchSize: int('maxBatchSize'),
      ...(device === undefined ? {} : { device }),
    };
  }
  return { format: PLAN_FORMAT, functions: out };
}
