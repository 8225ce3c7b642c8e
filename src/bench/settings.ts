// Session options and worker environment of every benchmarked mode, in one
// place, so the report can print exactly what each mode ran with.
// Plain modes keep ONNX Runtime's defaults except the thread count; every
// mode uses the same intra-op thread count so the comparison is fair.
import type { SessionOptions } from './protocol.js';
import { WORKER_ENV } from './procs.js';

export type ModeId =
  | 'plain'
  | 'plain-noprepack'
  | 'plain-malloc'
  | 'fast-open'
  | 'fast-open-noarena'
  | 'fast-run'
  | 'auto'
  | 'baseline';

export interface ModeSettings {
  id: ModeId;
  label: string;
  sessionOptions: SessionOptions;
  /** Worker environment overrides; undefined removes a variable of WORKER_ENV (glibc defaults). */
  env: Record<string, string | undefined>;
  /** One line for the report. */
  describe: string;
}

const GLIBC_DEFAULTS: Record<string, undefined> = Object.fromEntries(
  Object.keys(WORKER_ENV).map((k) => [k, undefined]),
);
const ENV_TEXT = Object.entries(WORKER_ENV)
  .map(([k, v]) => `${k}=${v}`)
  .join(' ');

/**
 * Both tensorshare modes keep ORT's CPU memory arena. Turning it off saves
 * a few MiB per process (the arena keeps the last run's activations), but
 * with MALLOC_MMAP_THRESHOLD_ every activation buffer is then mapped and
 * unmapped on each run: tens of thousands of page faults per run, which
 * made BERT-base fast-open runs about twice as slow. The density suite
 * (memory) and the latency suite (speed, BERT) measure the arena-off choice.
 */
export const TS_ARENA: Record<'fast-open' | 'fast-run', boolean> = { 'fast-open': true, 'fast-run': true };

export function modeSettings(threads: number): Record<ModeId, ModeSettings> {
  const t = { intraOpNumThreads: threads };
  const ts = (mode: 'fast-open' | 'fast-run'): SessionOptions =>
    TS_ARENA[mode] ? { ...t } : { ...t, enableCpuMemArena: false };
  return {
    'fast-open-noarena': {
      id: 'fast-open-noarena',
      label: 'tensorshare fast-open, arena off',
      sessionOptions: { ...t, enableCpuMemArena: false },
      env: {},
      describe: `as fast-open, with enableCpuMemArena false (measured for comparison, not a default)`,
    },
    plain: {
      id: 'plain',
      label: 'plain ORT',
      sessionOptions: { ...t },
      env: GLIBC_DEFAULTS,
      describe: `InferenceSession.create(file) with ORT defaults, intraOpNumThreads ${threads}; glibc malloc defaults (what people run today)`,
    },
    'plain-noprepack': {
      id: 'plain-noprepack',
      label: 'plain ORT, prepacking off',
      sessionOptions: { ...t, extra: { session: { disable_prepacking: '1' } } },
      env: GLIBC_DEFAULTS,
      describe: `as plain, plus session.disable_prepacking=1`,
    },
    'plain-malloc': {
      id: 'plain-malloc',
      label: 'plain ORT, tuned malloc',
      sessionOptions: { ...t },
      env: {},
      describe: `as plain, but with tensorshare's worker environment ${ENV_TEXT} (isolates what sharing saves from what malloc tuning saves)`,
    },
    'fast-open': {
      id: 'fast-open',
      label: 'tensorshare fast-open',
      sessionOptions: ts('fast-open'),
      env: {},
      describe: `openSession(mode 'fast-open'), intraOpNumThreads ${threads}, enableCpuMemArena ${TS_ARENA['fast-open']}; ${ENV_TEXT}`,
    },
    'fast-run': {
      id: 'fast-run',
      label: 'tensorshare fast-run',
      sessionOptions: ts('fast-run'),
      env: {},
      describe: `openSession(mode 'fast-run'), intraOpNumThreads ${threads}, enableCpuMemArena ${TS_ARENA['fast-run']}, enableMemPattern false (store/ort-options.ts); ${ENV_TEXT}; density: in a store a \`tensorshare daemon\` owns, as serve's instances (it cuts the originals 10 s after the last session creation; each point is read once they are cut)`,
    },
    auto: {
      id: 'auto',
      label: 'tensorshare auto',
      sessionOptions: ts('fast-open'),
      env: {},
      describe: `openSession(mode 'auto'): answers from fast-open, switches to fast-run after the first run; options as fast-open`,
    },
    baseline: {
      id: 'baseline',
      label: 'runtime baseline',
      sessionOptions: ts('fast-open'),
      env: {},
      describe: `Node + onnxruntime-node + a weightless Identity session, options and environment as tensorshare's workers`,
    },
  };
}
