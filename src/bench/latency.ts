// Suite 4, inference speed: one worker process holds a private prepacked
// session (plain onnxruntime-node, defaults) and tensorshare fast-run and
// fast-open sessions of the same model, and runs them interleaved (one run
// of each per round, order rotating) at batch 1 and batch 8. Ratios are
// tensorshare / private from the same rounds.
import fs from 'node:fs/promises';
import { preparedStore, type BenchContext } from './context.js';
import type { PreparedModel } from './models.js';
import type { LatencySession } from './protocol.js';
import type { LatencyBatchResult, LatencyResults } from './results.js';
import { iqr, median, percentile, ratios, summarize } from './stats.js';

export const PRIVATE = 'private';
export const TS_MODES = ['fast-run', 'fast-open'] as const;
/** Extra session for the model the targets are about: what turning ORT's arena off costs. */
export const NOARENA = 'fast-open-noarena';

interface Budget {
  warmup: number;
  minRounds: number;
  maxRounds: number;
  maxSeconds: number;
}

/** Rounds and time caps per batch size: the BERT-shaped model (the targets' model) gets the most. */
export function latencyBudget(quick: boolean, model: string, batch: number): Budget {
  if (quick)
    return batch === 1
      ? { warmup: 2, minRounds: 5, maxRounds: 15, maxSeconds: 3 }
      : { warmup: 1, minRounds: 3, maxRounds: 8, maxSeconds: 3 };
  const main = model === 'bert';
  if (batch === 1) return { warmup: 3, minRounds: 20, maxRounds: 200, maxSeconds: main ? 30 : 12 };
  return { warmup: 1, minRounds: 6, maxRounds: 100, maxSeconds: main ? 50 : 15 };
}

export async function runLatency(ctx: BenchContext): Promise<LatencyResults> {
  const out: LatencyResults = { models: [] };
  for (const model of ctx.models) {
    ctx.log(`latency: ${model.id}`);
    try {
      out.models.push({ model: model.id, batches: await runModel(ctx, model) });
    } catch (e) {
      out.models.push({ model: model.id, batches: [], error: (e as Error).message });
      ctx.log(`latency ${model.id}: ${(e as Error).message}`);
    }
  }
  return out;
}

async function runModel(ctx: BenchContext, model: PreparedModel): Promise<LatencyBatchResult[]> {
  const s = ctx.settings;
  const st = await preparedStore(ctx, model, 'fast-run');
  try {
    const sessions: LatencySession[] = [
      { label: PRIVATE, opener: { kind: 'plain', file: model.file, sessionOptions: s.plain.sessionOptions } },
      ...TS_MODES.map((mode) => ({
        label: mode,
        opener: {
          kind: 'tensorshare' as const,
          repository: ctx.repository,
          store: st.store,
          ref: model.ref,
          mode,
          sessionOptions: s[mode].sessionOptions,
        },
      })),
    ];
    if (model.id === 'bert') {
      sessions.push({
        label: NOARENA,
        opener: {
          kind: 'tensorshare',
          repository: ctx.repository,
          store: st.store,
          ref: model.ref,
          mode: 'fast-open',
          sessionOptions: s[NOARENA].sessionOptions,
        },
      });
    }
    const w = ctx.pool.spawn({
      task: 'latency',
      sessions,
      batches: [1, 8].map((batch) => ({
        batch,
        inputs: model.inputs(batch),
        ...latencyBudget(ctx.quick, model.id, batch),
      })),
    });
    try {
      const m = await w.next('latency', 600_000);
      return m.batches.map((b) => latencyBatch(model.id, b.batch, b.samples, m.modes));
    } finally {
      await w.kill();
    }
  } finally {
    await fs.rm(st.store, { recursive: true, force: true });
  }
}

/** Summaries and ratios of one batch size's interleaved samples (pure; exported for tests). */
export function latencyBatch(
  model: string,
  batch: number,
  samples: Record<string, number[]>,
  modes: Record<string, string>,
): LatencyBatchResult {
  const priv = samples[PRIVATE] ?? [];
  const rounds = priv.length;
  const sessions = Object.entries(samples).map(([label, v]) => ({
    label,
    mode: modes[label] ?? label,
    summary: summarize(v),
  }));
  const result: LatencyBatchResult = { model, batch, rounds, sessions, ratios: [] };
  for (const mode of Object.keys(samples).filter((k) => k !== PRIVATE)) {
    const v = samples[mode];
    if (!v || v.length === 0 || priv.length === 0) continue;
    const n = Math.min(v.length, priv.length);
    const paired = ratios(v.slice(0, n), priv.slice(0, n));
    result.ratios.push({
      mode,
      ratioOfMedians: median(v) / median(priv),
      pairedMedian: median(paired),
      pairedIqr: iqr(paired),
      p99Ratio: percentile(v, 99) / percentile(priv, 99),
    });
  }
  return result;
}
