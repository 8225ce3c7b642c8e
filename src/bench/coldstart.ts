// Suite 3, cold start: a fresh process per measurement, timed from the
// open()/create() call to the first result and from process spawn to the
// first result. Scenarios (per model, interleaved round by round):
//   tensorshare with the model resident: fast-open, fast-run, auto
//   tensorshare with the model only in the repository (fresh empty store)
//   plain onnxruntime-node from the .onnx file, page cache warm
//   cold: page cache dropped first (plain, and tensorshare from the repository),
//         where the machine lets this process drop caches.
import fs from 'node:fs/promises';
import { dropPageCache } from './machine.js';
import { msBetween, type Opener } from './protocol.js';
import { preparedStore, type BenchContext } from './context.js';
import type { PreparedModel } from './models.js';
import type { ColdRep, ColdScenarioResult, ColdStartResults } from './results.js';
import { summarize } from './stats.js';

interface Scenario {
  id: string;
  label: string;
  describe: string;
  env?: Record<string, string | undefined>;
  awaitSwitch?: boolean;
  /** Before each repetition; returns the opener and a cleanup. */
  prepare(): Promise<{ opener: Opener; cleanup?: () => Promise<void> }>;
}

export function coldReps(quick: boolean): number {
  return quick ? 2 : 5;
}

async function readWhole(file: string): Promise<void> {
  const h = await fs.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(16 << 20);
    while ((await h.read(buf, 0, buf.length, null)).bytesRead > 0) {
      /* warming the page cache */
    }
  } finally {
    await h.close();
  }
}

export async function runColdStart(ctx: BenchContext): Promise<ColdStartResults> {
  const reps = coldReps(ctx.quick);
  const drop = ctx.machine.dropCaches;
  const canDrop = drop.works === true;
  const scenarios: ColdScenarioResult[] = [];
  for (const model of ctx.models) {
    ctx.log(`coldstart: ${model.id}`);
    scenarios.push(...(await runModel(ctx, model, reps, canDrop)));
  }
  return { reps, dropCaches: { works: canDrop, detail: drop.detail }, scenarios };
}

async function runModel(
  ctx: BenchContext,
  model: PreparedModel,
  reps: number,
  canDrop: boolean,
): Promise<ColdScenarioResult[]> {
  const s = ctx.settings;
  const resident = await preparedStore(ctx, model, 'fast-run'); // holds both the model and its fast-run variant
  const ts = (mode: 'fast-open' | 'fast-run' | 'auto', store: string): Opener => ({
    kind: 'tensorshare',
    repository: ctx.repository,
    store,
    ref: model.ref,
    mode,
    sessionOptions: s[mode].sessionOptions,
  });
  const freshStore = (mode: 'fast-open' | 'fast-run', dropFirst: boolean) => async () => {
    const st = await preparedStore(ctx, model, 'none');
    if (dropFirst) dropPageCache(1);
    return { opener: ts(mode, st.store), cleanup: () => fs.rm(st.store, { recursive: true, force: true }) };
  };
  const plain: Opener = { kind: 'plain', file: model.file, sessionOptions: s.plain.sessionOptions };
  const list: (Scenario | { id: string; label: string; describe: string; skipped: string })[] = [
    {
      id: 'ts-fast-open',
      label: 'tensorshare fast-open, resident',
      describe: s['fast-open'].describe,
      prepare: async () => ({ opener: ts('fast-open', resident.store) }),
    },
    {
      id: 'ts-fast-run',
      label: 'tensorshare fast-run, resident',
      describe: s['fast-run'].describe,
      prepare: async () => ({ opener: ts('fast-run', resident.store) }),
    },
    {
      id: 'ts-auto',
      label: 'tensorshare auto, resident',
      describe: s.auto.describe,
      awaitSwitch: true,
      prepare: async () => ({ opener: ts('auto', resident.store) }),
    },
    {
      id: 'ts-repo-fast-open',
      label: 'tensorshare fast-open, not resident (copied from the repository)',
      describe: 'empty store, repository on disk with a warm page cache',
      prepare: freshStore('fast-open', false),
    },
    {
      id: 'ts-repo-fast-run',
      label: 'tensorshare fast-run, not resident (copied from the repository)',
      describe: 'empty store, repository on disk with a warm page cache',
      prepare: freshStore('fast-run', false),
    },
    {
      id: 'plain-warm',
      label: 'plain ORT, file in page cache',
      describe: s.plain.describe,
      env: s.plain.env,
      prepare: async () => {
        await readWhole(model.file);
        return { opener: plain };
      },
    },
  ];
  if (canDrop) {
    list.push(
      {
        id: 'ts-repo-cold',
        label: 'tensorshare fast-open, not resident, page cache dropped',
        describe: 'empty store; clean page cache dropped (echo 1 > /proc/sys/vm/drop_caches) right before',
        prepare: freshStore('fast-open', true),
      },
      {
        id: 'plain-cold',
        label: 'plain ORT, page cache dropped',
        describe: `${s.plain.describe}; clean page cache dropped right before`,
        env: s.plain.env,
        prepare: async () => {
          dropPageCache(1);
          return { opener: plain };
        },
      },
    );
  } else {
    const why = `this process cannot drop the page cache (${ctx.machine.dropCaches.detail})`;
    list.push(
      {
        id: 'ts-repo-cold',
        label: 'tensorshare fast-open, not resident, page cache dropped',
        describe: '',
        skipped: why,
      },
      { id: 'plain-cold', label: 'plain ORT, page cache dropped', describe: '', skipped: why },
    );
  }
  const results = new Map<string, ColdScenarioResult>();
  for (const sc of list) {
    results.set(sc.id, {
      id: sc.id,
      label: sc.label,
      model: model.id,
      describe: sc.describe,
      reps: [],
      skipped: 'skipped' in sc ? sc.skipped : undefined,
    });
  }
  const runnable = list.filter((sc): sc is Scenario => !('skipped' in sc));
  try {
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order so that no scenario always follows the same one.
      for (let k = 0; k < runnable.length; k++) {
        const sc = runnable[(rep + k) % runnable.length]!;
        const r = results.get(sc.id)!;
        if (r.error) continue;
        try {
          r.reps.push(await once(ctx, model, sc, r));
        } catch (e) {
          r.error = (e as Error).message;
          ctx.log(`coldstart ${model.id} ${sc.id}: ${r.error}`);
        }
      }
    }
  } finally {
    await fs.rm(resident.store, { recursive: true, force: true });
  }
  for (const r of results.values()) {
    if (r.reps.length === 0) continue;
    r.openToFirst = summarize(r.reps.map((x) => x.openToFirstMs));
    r.spawnToFirst = summarize(r.reps.map((x) => x.spawnToFirstMs));
    r.openMs = summarize(r.reps.map((x) => x.openMs));
    r.firstRunMs = summarize(r.reps.map((x) => x.firstRunMs));
    const sw = r.reps.map((x) => x.switchMs).filter((x): x is number => x !== undefined);
    if (sw.length) r.switchMs = summarize(sw);
  }
  return [...results.values()];
}

async function once(ctx: BenchContext, model: PreparedModel, sc: Scenario, r: ColdScenarioResult): Promise<ColdRep> {
  const { opener, cleanup } = await sc.prepare();
  try {
    const w = ctx.pool.spawn({ task: 'cold', opener, inputs: model.inputs(1), awaitSwitch: sc.awaitSwitch }, sc.env);
    try {
      const m = await w.next('cold', ctx.quick ? 120_000 : 300_000);
      const k = m.report.marks;
      r.servedMode = m.report.mode;
      return {
        openToFirstMs: msBetween(k.openStart, k.firstResult),
        spawnToFirstMs: Number(BigInt(k.firstResult) - w.spawnedAt) / 1e6,
        importMs: msBetween(k.start, k.imported),
        openMs: msBetween(k.openStart, k.opened),
        firstRunMs: msBetween(k.opened, k.firstResult),
        materializeMs: m.report.materializeMs,
        switchMs: m.switchMs,
      };
    } finally {
      await w.kill();
    }
  } finally {
    await cleanup?.();
  }
}
