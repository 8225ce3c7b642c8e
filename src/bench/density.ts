// Density: how much memory N separate processes cost that each hold a
// session of the same model and have run it once. Processes are added step
// by step (N = 1, 2, 4, ...: the first ones stay alive), and at each step the
// parent reads /proc/<pid>/smaps_rollup of all of them: summed Pss counts
// every physical page once. For tensorshare modes the store's tmpfs files
// are memory too: bytes of the store that no process maps (untouched pages,
// files of the other mode) are added, so `totalBytes` is the whole cost.
// A step that would not fit in the machine's available memory (minus a
// reserve) is skipped and the mode stops there.
import { treeBytes } from './fsbytes.js';
import { readSmapsByFile, readSmapsRollup, sumRollups, emptyRollup, type SmapsRollup } from '../proc/smaps.js';
import { memAvailable } from './machine.js';
import { msBetween, type InputSpec, type Opener, type OpenReport, type PrivateParts } from './protocol.js';
import type { Worker, WorkerPool } from './procs.js';
import { median } from './stats.js';

export interface DensityMode {
  /** Stable id ('plain', 'plain-noprepack', 'fast-open', ...). */
  id: string;
  label: string;
  opener: Opener;
  /** Worker environment overrides (see WorkerPool.spawn). */
  env?: Record<string, string | undefined>;
  /** Node flags of the workers. */
  execArgv?: string[];
  /**
   * tensorshare: the store's tensor folder (mappings under it are the shared
   * weights) and the bytes resident in the store for this mode; with `root`,
   * the store's allocated bytes are read again at every point instead (a
   * fast-run open trims the originals it no longer needs, store/originals.ts).
   */
  store?: { tensorsDir: string; residentBytes: number; root?: string };
  /** Human description of the session options and environment. */
  settings: string;
  /**
   * Started before the mode's first process and stopped after its last (the
   * daemon owning a fast-run store); `settle` runs before every point's
   * reading (its steady state: the originals cut).
   */
  owner?: () => Promise<{ settle(): Promise<{ ms: number; cut: boolean }>; stop(): Promise<void> }>;
  /**
   * The single-process peer: at each N, one process whose one session serves
   * N concurrent callers (no isolation) instead of N processes.
   */
  singleProcess?: boolean;
}

export interface DensityPoint {
  n: number;
  /** Field-wise sum of smaps_rollup over the N processes. */
  sum: SmapsRollup;
  /** Pss of store files summed over processes (tensorshare only). */
  storePss: number;
  /** Store bytes no process maps: added to the total. */
  storeUnmapped: number;
  /** Bytes allocated in the store at this point (tensorshare; absent in results written before it was read per point). */
  storeResident?: number;
  /** Bytes of store mappings copied on write (0 when weights stay shared). */
  storeCopied: number;
  /** sum.pss + storeUnmapped. */
  totalBytes: number;
  perProcessBytes: number;
}

export interface DensityModeResult {
  id: string;
  label: string;
  settings: string;
  points: DensityPoint[];
  /** Why the mode stopped before the largest N, if it did. */
  stopped?: { n: number; reason: string };
  /** Medians over all processes of this mode. */
  openMs: number;
  firstRunMs: number;
  /** In-process growth from before open to after the first run (Pss / Pss_Anon), median. */
  selfPssGrowth: number;
  selfAnonGrowth: number;
  /** Mode actually served (tensorshare fast-run may fall back to fast-open). */
  servedMode: string;
  /**
   * Where one process's private memory is (medians over its processes): Pss_Anon once its modules are
   * imported (before any session), and right after the first run by mapping (absent in older results).
   */
  privateParts?: PrivateParts & { imported: number; total: number };
  error?: string;
}

export interface DensityOptions {
  pool: WorkerPool;
  modes: readonly DensityMode[];
  inputs: readonly InputSpec[];
  counts: readonly number[];
  /** Spawns in flight at once (default 2). */
  concurrency?: number;
  /** Bytes to leave free (default 3 GiB). */
  reserveBytes?: number;
  /** First guess of one process's bytes before anything is measured. */
  guessBytes: (mode: DensityMode) => number;
  /** Wait after the last process is ready before reading memory (default 500 ms). */
  settleMs?: number;
  readyTimeoutMs?: number;
  availableBytes?: () => number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes one more process is expected to add, from what was measured so far. */
export function nextProcessEstimate(points: readonly Pick<DensityPoint, 'n' | 'totalBytes'>[], guess: number): number {
  if (points.length === 0) return guess;
  if (points.length === 1) return points[0]!.totalBytes / points[0]!.n;
  const a = points[points.length - 2]!;
  const b = points[points.length - 1]!;
  const marginal = (b.totalBytes - a.totalBytes) / (b.n - a.n);
  return Math.max(marginal, 16 << 20);
}

export async function measureDensity(opts: DensityOptions): Promise<DensityModeResult[]> {
  const out: DensityModeResult[] = [];
  for (const mode of opts.modes) out.push(await measureMode(opts, mode));
  return out;
}

async function measureMode(opts: DensityOptions, mode: DensityMode): Promise<DensityModeResult> {
  const log = opts.log ?? (() => {});
  const available = opts.availableBytes ?? (() => memAvailable());
  const reserve = opts.reserveBytes ?? 3 * 2 ** 30;
  const concurrency = opts.concurrency ?? 2;
  const workers: Worker[] = [];
  const reports: OpenReport[] = [];
  const points: DensityPoint[] = [];
  const result: DensityModeResult = {
    id: mode.id,
    label: mode.label,
    settings: mode.settings,
    points,
    openMs: NaN,
    firstRunMs: NaN,
    selfPssGrowth: NaN,
    selfAnonGrowth: NaN,
    servedMode: '',
  };
  const owner = await mode.owner?.();
  const settle = async (n: number) => {
    if (!owner) return;
    const st = await owner.settle();
    log(
      `density ${mode.id}: N=${n} settled in ${Math.round(st.ms)} ms (${st.cut ? 'originals cut' : 'originals NOT cut'})`,
    );
  };
  try {
    if (mode.singleProcess) {
      for (const n of opts.counts) {
        const w = opts.pool.spawn(
          { task: 'hold', opener: mode.opener, inputs: [...opts.inputs], callers: n },
          mode.env,
          { execArgv: mode.execArgv },
        );
        workers.push(w);
        reports.push((await w.next('ready', opts.readyTimeoutMs ?? 180_000)).report);
        await sleep(opts.settleMs ?? 500);
        points.push({ ...(await measurePoint([w], mode)), n }); // one process: per process = total
        log(`density ${mode.id}: ${n} callers, total ${(points.at(-1)!.totalBytes / 2 ** 20).toFixed(0)} MiB`);
        await w.stop();
        workers.pop();
      }
    }
    for (const n of mode.singleProcess ? [] : opts.counts) {
      const add = n - workers.length;
      if (add <= 0) continue;
      const need = add * nextProcessEstimate(points, opts.guessBytes(mode)) * 1.25;
      const free = available() - reserve;
      if (need > free) {
        result.stopped = {
          n,
          reason: `N=${n} needs ~${Math.round(need / 2 ** 20)} MiB more; ${Math.round(Math.max(0, free) / 2 ** 20)} MiB available beyond the ${Math.round(reserve / 2 ** 30)} GiB reserve`,
        };
        log(`density ${mode.id}: stop before N=${n} (${result.stopped.reason})`);
        break;
      }
      // Start `add` more workers, `concurrency` at a time.
      let next = 0;
      const lanes = Array.from({ length: Math.min(concurrency, add) }, async () => {
        while (next < add) {
          next++;
          const w = opts.pool.spawn({ task: 'hold', opener: mode.opener, inputs: [...opts.inputs] }, mode.env, {
            execArgv: mode.execArgv,
          });
          workers.push(w);
          reports.push((await w.next('ready', opts.readyTimeoutMs ?? 180_000)).report);
        }
      });
      await Promise.all(lanes);
      await sleep(opts.settleMs ?? 500);
      await settle(n);
      points.push(await measurePoint(workers, mode));
      const p = points[points.length - 1]!;
      log(
        `density ${mode.id}: N=${n} total ${(p.totalBytes / 2 ** 20).toFixed(0)} MiB (${(p.perProcessBytes / 2 ** 20).toFixed(1)} MiB/process)`,
      );
    }
  } catch (e) {
    result.error = (e as Error).message;
    log(`density ${mode.id}: ${result.error}`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await owner?.stop();
  }
  if (reports.length > 0) {
    result.openMs = median(reports.map((r) => msBetween(r.marks.openStart, r.marks.opened)));
    result.firstRunMs = median(reports.map((r) => msBetween(r.marks.opened, r.marks.firstResult)));
    result.selfPssGrowth = median(reports.map((r) => r.after.pss - r.before.pss));
    result.selfAnonGrowth = median(reports.map((r) => r.after.pssAnon - r.before.pssAnon));
    result.servedMode = reports[0]!.mode;
    const parts = reports.flatMap((r) => (r.privateParts ? [r.privateParts] : []));
    if (parts.length)
      result.privateParts = {
        imported: median(reports.map((r) => r.before.pssAnon)),
        total: median(reports.map((r) => r.after.pssAnon)),
        heap: median(parts.map((p) => p.heap)),
        files: median(parts.map((p) => p.files)),
        other: median(parts.map((p) => p.other)),
        jsHeap: median(parts.map((p) => p.jsHeap)),
      };
  }
  return result;
}

async function measurePoint(workers: readonly Worker[], mode: DensityMode): Promise<DensityPoint> {
  const rollups: SmapsRollup[] = [];
  let storePss = 0;
  let storeCopied = 0;
  for (const w of workers) {
    rollups.push(readSmapsRollup(w.pid));
    if (mode.store) {
      for (const f of readSmapsByFile(w.pid, mode.store.tensorsDir)) {
        storePss += f.pss;
        storeCopied += f.anonymous;
      }
    }
  }
  const sum = rollups.length ? sumRollups(rollups) : emptyRollup();
  const resident = mode.store?.root ? (await treeBytes(mode.store.root)).allocated : mode.store?.residentBytes;
  const storeUnmapped = resident !== undefined ? Math.max(0, resident - storePss) : 0;
  const totalBytes = sum.pss + storeUnmapped;
  return {
    n: workers.length,
    sum,
    storePss,
    storeUnmapped,
    storeResident: resident,
    storeCopied,
    totalBytes,
    perProcessBytes: totalBytes / workers.length,
  };
}
