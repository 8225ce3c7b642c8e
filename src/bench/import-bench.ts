// Suite 5, import throughput: importModel() of the BERT-shaped model into a
// fresh repository on disk and on tmpfs, alternating, source file in the
// page cache. MB/s = source file bytes (10^6) / wall time of importModel
// (read, split, hash, write, publish; the fast-run build is reported apart:
// openable and variant-ready times of one import as `tensorshare import` runs it).
// CPU time of this process (all threads) during each import shows whether
// the import is CPU-bound.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { importModel } from '../store/import.js';
import { layout } from '../store/layout.js';
import { buildFastRunIsolated } from '../store/runtime-process.js';
import type { BenchContext } from './context.js';
import type { ImportCase, ImportResults } from './results.js';
import { median, summarize } from './stats.js';

export function importReps(quick: boolean): number {
  return quick ? 2 : 5;
}

export async function runImport(ctx: BenchContext): Promise<ImportResults> {
  const model = ctx.models.find((m) => m.id === 'bert') ?? ctx.models[0]!;
  const reps = importReps(ctx.quick);
  const load0 = os.loadavg()[0]!;
  await fs.readFile(model.file); // page cache warm
  const targets = [
    { target: 'disk' as const, dir: ctx.work },
    { target: 'tmpfs' as const, dir: ctx.shm },
  ];
  const ms: Record<string, number[]> = { disk: [], tmpfs: [] };
  const copyMs: Record<string, number[]> = { disk: [], tmpfs: [] };
  const cpuMs: Record<string, number[]> = { disk: [], tmpfs: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const t of rep % 2 ? [...targets].reverse() : targets) {
      const dir = await fs.mkdtemp(path.join(t.dir, 'import-'));
      try {
        const cpu0 = process.cpuUsage();
        const r = await importModel(path.join(dir, 'repo'), model.file, { name: model.id });
        const cpu = process.cpuUsage(cpu0);
        ms[t.target]!.push(r.ms);
        cpuMs[t.target]!.push((cpu.user + cpu.system) / 1000);
        const c0 = performance.now();
        await fs.copyFile(model.file, path.join(dir, 'copy.onnx'));
        copyMs[t.target]!.push(performance.now() - c0);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
    ctx.log(
      `import: rep ${rep + 1}/${reps}: disk ${ms.disk!.at(-1)!.toFixed(0)} ms, tmpfs ${ms.tmpfs!.at(-1)!.toFixed(0)} ms`,
    );
  }
  const lifecycle = await importLifecycle(ctx, model.file, model.id);
  ctx.log(
    `import: openable after ${lifecycle.openableMs.toFixed(0)} ms, fast-run variant ready after ${lifecycle.variantReadyMs.toFixed(0)} ms; again: ${lifecycle.reimportOutcome} in ${lifecycle.reimportMs.toFixed(0)} ms`,
  );
  const cases: ImportCase[] = targets.map((t) => ({
    target: t.target,
    dir: path.dirname(t.dir),
    ms: ms[t.target]!,
    mbPerSecond: summarize(ms[t.target]!.map((x) => model.fileBytes / 1e6 / (x / 1000))),
    copyMbPerSecond: median(copyMs[t.target]!.map((x) => model.fileBytes / 1e6 / (x / 1000))),
    cpuMs: cpuMs[t.target]!,
  }));
  return {
    model: model.id,
    sourceBytes: model.fileBytes,
    reps,
    cases,
    sha256MbPerSecond: sha256Speed(),
    fastRunBuildMs: model.fastRun.buildMs,
    lifecycle,
    load: [load0, os.loadavg()[0]!],
  };
}

/** `tensorshare import`'s sequence on disk: openable, then the variant built in a build process, then a re-import. */
async function importLifecycle(
  ctx: BenchContext,
  file: string,
  name: string,
): Promise<NonNullable<ImportResults['lifecycle']>> {
  const dir = await fs.mkdtemp(path.join(ctx.work, 'import-'));
  try {
    const repository = path.join(dir, 'repo');
    const t0 = performance.now();
    const r = await importModel(repository, file, { name });
    const openableMs = performance.now() - t0;
    const repo = layout(repository);
    await buildFastRunIsolated(repo, repo, r.manifest);
    const variantReadyMs = performance.now() - t0;
    const again = await importModel(repository, file, { name });
    return { openableMs, variantReadyMs, reimportMs: again.ms, reimportOutcome: again.outcome };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** MB/s of SHA-256 over a 64 MiB buffer on this thread (median of 3). */
export function sha256Speed(bytes = 64 << 20): number {
  const buf = Buffer.alloc(bytes, 0x5a);
  const speeds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    createHash('sha256').update(buf).digest();
    speeds.push(bytes / 1e6 / ((performance.now() - t0) / 1000));
  }
  return median(speeds);
}
