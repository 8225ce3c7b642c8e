// One child of the planner's profiler: `node plan-profile-worker.js '<task JSON>'`
// opens the model through the product's own openSession at the given
// intra-op threads, then for each batch size (ascending) runs it until the
// time budget is spent and reports the median run and its private memory
// (Pss_Anon, which only grows with the batch: ORT's arena keeps its peak).
// One process per thread count, so threads and memory are the instance's.
import { openSession } from '../client/open-session.js';
import { readSmapsRollup } from '../proc/smaps.js';
import { type InputMetadata, planFeeds } from '../tensor/feeds.js';

export interface ProfileTask {
  ref: string;
  repository: string;
  store: string;
  threads: number;
  batches: number[];
  /** Sizes of symbolic dimensions past the batch axis (default 1). */
  dims: Record<string, number>;
  /** Wall time per batch size, ms, after 2 warm-up runs (at least 5 runs). */
  budgetMs: number;
}

export interface ProfileRow {
  batch: number;
  latencyMs: number;
  runs: number;
  pssAnon: number;
  sharedBytes: number;
}

const task = JSON.parse(process.argv[2] ?? '{}') as ProfileTask;
const ort = (await import('onnxruntime-node')).default;
const s = await openSession(task.ref, {
  repository: task.repository,
  store: task.store,
  sessionOptions: { intraOpNumThreads: task.threads, interOpNumThreads: 1 },
});
const meta = s.session.inputMetadata as readonly InputMetadata[];
const batchDims = new Set(meta.flatMap((m) => (m.isTensor && typeof m.shape[0] === 'string' ? [m.shape[0]] : [])));
if (batchDims.size === 0) {
  process.stdout.write(`${JSON.stringify({ error: `${task.ref} has no dynamic batch dimension on its inputs` })}\n`);
  process.exit(0);
}
const rows: ProfileRow[] = [];
for (const batch of task.batches) {
  const dims = { ...task.dims, ...Object.fromEntries([...batchDims].map((d) => [d, batch])) };
  const feeds = Object.fromEntries(
    planFeeds(meta, { dims }).map((p) => [p.name, new ort.Tensor(p.type as 'float32', p.data as Float32Array, p.dims)]),
  );
  for (let i = 0; i < 2; i++) await s.session.run(feeds);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || performance.now() - start < task.budgetMs) {
    const t0 = performance.now();
    await s.session.run(feeds);
    times.push(performance.now() - t0);
    if (times.length >= 200) break;
  }
  times.sort((a, b) => a - b);
  const m = readSmapsRollup(process.pid);
  rows.push({
    batch,
    latencyMs: times[Math.floor(times.length / 2)]!,
    runs: times.length,
    pssAnon: m.pssAnon,
    sharedBytes: m.pssShmem + m.pssFile,
  });
}
await s.release();
process.stdout.write(`${JSON.stringify({ rows })}\n`);
