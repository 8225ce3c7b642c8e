// Suite 1, density: for each model, N processes per mode (plain ORT with its
// defaults, with prepacking off, with tuned malloc; tensorshare fast-open and
// fast-run), the single-process peer (one session serving N callers), plus the runtime baseline at every N and a small tuning sweep of
// worker settings (threads, CPU memory arena) at one N.
import fs from 'node:fs/promises';
import { measureDensity, type DensityMode, type DensityModeResult } from './density.js';
import { preparedStore, type BenchContext } from './context.js';
import type { PreparedModel } from './models.js';
import type { DensityModelResult, DensityResults, TuningRow } from './results.js';
import type { InputSpec, Opener } from './protocol.js';
import { layout } from '../store/layout.js';
import { startStoreDaemon } from './store-daemon.js';
import type { ModeId } from './settings.js';

const BASELINE_INPUTS: InputSpec[] = [{ name: 'X', dtype: 'float32', shape: [1, 4], fill: 'ones' }];

export function densityCounts(quick: boolean): number[] {
  return quick ? [1, 2, 4] : [1, 2, 4, 8, 16, 32];
}

function common(ctx: BenchContext) {
  return {
    pool: ctx.pool,
    log: ctx.log,
    concurrency: Math.max(1, Math.min(4, ctx.machine.logicalCores)),
    readyTimeoutMs: ctx.quick ? 120_000 : 300_000,
  };
}

/** Generous first guess of one process: plain holds the weights (glibc may keep the load-time copy too). */
function guess(model: PreparedModel | undefined) {
  return (m: DensityMode) => (m.opener.kind === 'plain' ? (model?.fileBytes ?? 0) * 2.2 + (100 << 20) : 120 << 20);
}

export async function runDensity(ctx: BenchContext): Promise<DensityResults> {
  const counts = densityCounts(ctx.quick);
  const s = ctx.settings;
  const baselineMode = (
    id: string,
    label: string,
    sessionOptions: Opener['sessionOptions'],
    settings: string,
  ): DensityMode => ({
    id,
    label,
    settings,
    opener: { kind: 'baseline', file: ctx.identityFile, sessionOptions },
  });

  ctx.log('density: runtime baseline');
  const [baseline] = await measureDensity({
    ...common(ctx),
    counts,
    inputs: BASELINE_INPUTS,
    guessBytes: guess(undefined),
    modes: [baselineMode('baseline', s.baseline.label, s.baseline.sessionOptions, s.baseline.describe)],
  });

  const tuning = await runTuning(ctx);

  const models: DensityModelResult[] = [];
  for (const model of ctx.models) {
    ctx.log(`density: ${model.id}`);
    const storeBytes: Record<string, number> = {};
    const stores: string[] = [];
    const modes: DensityMode[] = [];
    // The memory floor without isolation: one process, one session, N callers.
    modes.push({
      id: 'peer',
      label: 'one process, one ORT session, N callers',
      settings: `${s.plain.describe}; N concurrent callers of one session in one process (onnxruntime-node runs them one at a time)`,
      env: s.plain.env,
      opener: { kind: 'plain', file: model.file, sessionOptions: s.plain.sessionOptions },
      singleProcess: true,
    });
    for (const id of ['plain', 'plain-noprepack', 'plain-malloc'] as const) {
      modes.push({
        id,
        label: s[id].label,
        settings: s[id].describe,
        env: s[id].env,
        opener: { kind: 'plain', file: model.file, sessionOptions: s[id].sessionOptions },
      });
    }
    for (const id of ['fast-open', 'fast-run'] as const) {
      // fast-run: the variant alone, as the daemon keeps the default mode's store.
      const st = await preparedStore(ctx, model, id === 'fast-run' ? 'fast-run-only' : id);
      stores.push(st.store);
      storeBytes[id] = st.bytes;
      modes.push({
        id,
        label: s[id].label,
        settings: s[id].describe,
        env: s[id].env,
        opener: {
          kind: 'tensorshare',
          repository: ctx.repository,
          store: st.store,
          ref: model.ref,
          mode: id,
          sessionOptions: s[id].sessionOptions,
        },
        store: { tensorsDir: layout(st.store).tensors, residentBytes: st.bytes, root: st.store },
        // The default mode as served: a daemon owns the store and cuts the originals between creations.
        ...(id === 'fast-run' ? { owner: () => startStoreDaemon(ctx.repository, st.store, model.ref, ctx.pool) } : {}),
      });
    }
    try {
      const results = await measureDensity({
        ...common(ctx),
        counts,
        inputs: model.inputs(1),
        guessBytes: guess(model),
        modes,
      });
      models.push({ model: model.id, storeBytes, modes: results });
    } finally {
      for (const st of stores) await fs.rm(st, { recursive: true, force: true });
    }
  }
  return { counts, baseline: baseline!, tuning, models };
}

/**
 * What worker settings change, at one N: the runtime baseline with ORT's
 * default threads, one thread, one thread without the CPU memory arena, and
 * Node flags; the BERT-shaped model in both tensorshare modes with the arena
 * on and off. Quick runs measure only the first three.
 */
async function runTuning(ctx: BenchContext): Promise<TuningRow[]> {
  const n = ctx.quick ? 2 : 4;
  const t = ctx.threads;
  const rows: TuningRow[] = [];
  const baselineSettings: [string, Opener['sessionOptions']][] = [
    ['ORT defaults (all cores, arena on)', {}],
    [`intraOpNumThreads ${t}, arena on`, { intraOpNumThreads: t }],
    [`intraOpNumThreads ${t}, arena off`, { intraOpNumThreads: t, enableCpuMemArena: false }],
  ];
  const modes: DensityMode[] = baselineSettings.map(([label, o], i) => ({
    id: `baseline-${i}`,
    label,
    settings: label,
    opener: { kind: 'baseline', file: ctx.identityFile, sessionOptions: o },
  }));
  // Node's own share: flags that shrink V8 (interpreter only; smaller young generation). Not in quick runs.
  for (const flags of ctx.quick ? [] : [['--jitless'], ['--max-semi-space-size=1', '--single-threaded']]) {
    const label = `intraOpNumThreads ${t}, arena off, node ${flags.join(' ')}`;
    modes.push({
      id: `baseline-${modes.length}`,
      label,
      settings: label,
      execArgv: flags,
      opener: {
        kind: 'baseline',
        file: ctx.identityFile,
        sessionOptions: { intraOpNumThreads: t, enableCpuMemArena: false },
      },
    });
  }
  ctx.log('density: tuning (runtime baseline settings)');
  const base = await measureDensity({
    ...common(ctx),
    counts: [n],
    inputs: BASELINE_INPUTS,
    guessBytes: guess(undefined),
    modes,
  });
  for (const r of base) rows.push(tuningRow('baseline', 'baseline', r.label, r));
  // The per-process baseline the model rows are compared with: the setting the workers use (arena off).
  const ref = base[2]?.points[0];
  const model = ctx.models.find((m) => m.id === 'bert');
  if (!model || ctx.quick) return rows;
  for (const mode of ['fast-open', 'fast-run'] as const) {
    const st = await preparedStore(ctx, model, mode === 'fast-run' ? 'fast-run-only' : mode);
    try {
      const variants: DensityMode[] = [true, false].map((arena) => ({
        id: `${mode}-arena-${arena ? 'on' : 'off'}`,
        label: `intraOpNumThreads ${t}, arena ${arena ? 'on' : 'off'}`,
        settings: '',
        env: ctx.settings[mode as ModeId].env,
        opener: {
          kind: 'tensorshare',
          repository: ctx.repository,
          store: st.store,
          ref: model.ref,
          mode,
          sessionOptions: arena ? { intraOpNumThreads: t } : { intraOpNumThreads: t, enableCpuMemArena: false },
        },
        store: { tensorsDir: layout(st.store).tensors, residentBytes: st.bytes, root: st.store },
      }));
      ctx.log(`density: tuning (${model.id} ${mode}, arena on/off)`);
      for (const r of await measureDensity({
        ...common(ctx),
        counts: [n],
        inputs: model.inputs(1),
        guessBytes: guess(model),
        modes: variants,
      })) {
        const row = tuningRow(model.id, mode, r.label, r);
        const p = r.points[0];
        if (p && ref)
          row.beyondBaseline = (p.totalBytes - (p.storeResident ?? st.bytes)) / p.n - ref.totalBytes / ref.n;
        rows.push(row);
      }
    } finally {
      await fs.rm(st.store, { recursive: true, force: true });
    }
  }
  return rows;
}

function tuningRow(subject: string, mode: string, setting: string, r: DensityModeResult): TuningRow {
  const p = r.points[0];
  return {
    subject,
    mode,
    setting,
    n: p?.n ?? 0,
    perProcessBytes: p ? p.totalBytes / p.n : NaN,
    perProcessAnon: p ? p.sum.pssAnon / p.n : NaN,
    error: r.error ?? (p ? undefined : r.stopped?.reason),
  };
}
