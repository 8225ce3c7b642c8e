// Suite 5, import throughput: importModel() of the BERT-shaped model into a
// fresh repository on disk and on tmpfs, alternating, source file in the
// page cache. MB/s = source file bytes (10^6) / wall time of importModel
// (read, split, hash, write, runtime check, publish; the fast-run build is
// reported apart: openable and variant-ready times of one import as
// `tensorshare import` runs it). Each rep imports twice per target: as
// `tensorshare import` does (the runtime check's process started fresh, no
// verdict known), and with the verdict known in this process (what a
// fine-tuned variant of a checked graph gets: no runtime check), then copies
// the file with fs.copyFile to the same place. CPU time of this process (all
// threads; the check's child process is not in it) during each shows
// whether the import is CPU-bound.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { importModel, type ImportPhases } from '../store/import.js';
import { layout } from '../store/layout.js';
import { buildFastRunIsolated, resetRuntimeChecks } from '../store/runtime-process.js';
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
  const runs = () => ({ ms: [] as number[], cpuMs: [] as number[], phases: [] as ImportPhases[] });
  const full = { disk: runs(), tmpfs: runs() };
  const known = { disk: runs(), tmpfs: runs() };
  const copy = {
    disk: { ms: [] as number[], cpuMs: [] as number[] },
    tmpfs: { ms: [] as number[], cpuMs: [] as number[] },
  };
  /** One import into a fresh repository under `dir`, timed; `fresh`: as `tensorshare import` runs it. */
  const importOnce = async (dir: string, fresh: boolean, into: ReturnType<typeof runs>) => {
    if (fresh) await resetRuntimeChecks();
    const repo = await fs.mkdtemp(path.join(dir, 'repo-'));
    const cpu0 = process.cpuUsage();
    const r = await importModel(repo, model.file, { name: model.id });
    const cpu = process.cpuUsage(cpu0);
    if (fresh === (r.phases.check === 0)) throw new Error(`import bench: expected ${fresh ? 'a' : 'no'} runtime check`);
    into.ms.push(r.ms);
    into.cpuMs.push((cpu.user + cpu.system) / 1000);
    into.phases.push(r.phases);
    await fs.rm(repo, { recursive: true, force: true });
  };
  // The verdict of this model's structure, known from here on unless reset.
  await withDir(ctx.shm, (dir) => importOnce(dir, true, runs()));
  for (let rep = 0; rep < reps; rep++) {
    for (const t of rep % 2 ? [...targets].reverse() : targets) {
      await withDir(t.dir, async (dir) => {
        const order = rep % 2 ? [false, true] : [true, false];
        for (const fresh of order) await importOnce(dir, fresh, fresh ? full[t.target] : known[t.target]);
        const cpu0 = process.cpuUsage();
        const c0 = performance.now();
        await fs.copyFile(model.file, path.join(dir, 'copy.onnx'));
        copy[t.target].ms.push(performance.now() - c0);
        const cpu = process.cpuUsage(cpu0);
        copy[t.target].cpuMs.push((cpu.user + cpu.system) / 1000);
      });
    }
    ctx.log(
      `import: rep ${rep + 1}/${reps}: disk ${full.disk.ms.at(-1)!.toFixed(0)} ms (${known.disk.ms.at(-1)!.toFixed(0)} without the check), tmpfs ${full.tmpfs.ms.at(-1)!.toFixed(0)} ms (${known.tmpfs.ms.at(-1)!.toFixed(0)}); copy ${copy.disk.ms.at(-1)!.toFixed(0)} / ${copy.tmpfs.ms.at(-1)!.toFixed(0)} ms`,
    );
  }
  await resetRuntimeChecks();
  const lifecycle = await importLifecycle(ctx, model.file, model.id);
  ctx.log(
    `import: openable after ${lifecycle.openableMs.toFixed(0)} ms, fast-run variant ready after ${lifecycle.variantReadyMs.toFixed(0)} ms; again: ${lifecycle.reimportOutcome} in ${lifecycle.reimportMs.toFixed(0)} ms`,
  );
  const mbps = (ms: number[]) => ms.map((x) => model.fileBytes / 1e6 / (x / 1000));
  const cases: ImportCase[] = targets.map((t) => ({
    target: t.target,
    dir: path.dirname(t.dir),
    ms: full[t.target].ms,
    mbPerSecond: summarize(mbps(full[t.target].ms)),
    copyMbPerSecond: median(mbps(copy[t.target].ms)),
    copyCpuMs: copy[t.target].cpuMs,
    cpuMs: full[t.target].cpuMs,
    phases: {
      split: median(full[t.target].phases.map((p) => p.split)),
      check: median(full[t.target].phases.map((p) => p.check)),
      commit: median(full[t.target].phases.map((p) => p.commit)),
    },
    noCheck: {
      ms: known[t.target].ms,
      mbPerSecond: summarize(mbps(known[t.target].ms)),
      cpuMs: known[t.target].cpuMs,
    },
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
    await resetRuntimeChecks(); // a first import, as the command runs it
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

/** Runs `fn` with a fresh folder under `base`, removed afterwards. */
async function withDir<T>(base: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(base, 'import-'));
  try {
    return await fn(dir);
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
