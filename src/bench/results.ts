// The JSON document a benchmark run writes (results.json): everything the
// report, the charts and the target verdicts are computed from.
import type { MachineInfo } from './machine.js';
import type { DensityModeResult } from './density.js';
import type { Summary } from './stats.js';
import type { RequestPathResults } from './requestpath.js';
import type { FunctionsResults } from './functions-suite.js';

export const RESULTS_FORMAT = 'tensorshare.bench/v1';

export type SuiteId = 'density' | 'dedup' | 'coldstart' | 'latency' | 'import' | 'requestpath' | 'functions';
export const SUITES: readonly SuiteId[] = [
  'density',
  'dedup',
  'coldstart',
  'latency',
  'import',
  'requestpath',
  'functions',
];

export interface ModelInfo {
  id: string;
  label: string;
  source: 'generated' | 'real';
  inputLabel: string;
  fileBytes: number;
  params: number | null;
  weightBytes: number;
  tensors: number;
  fastRun: { status: string; reason?: string; buildMs: number; bytes: number; prepackedTensors: number };
}

export interface ModeInfo {
  id: string;
  label: string;
  describe: string;
}

export interface DensityModelResult {
  model: string;
  /** Store bytes resident for each tensorshare mode (fast-open: the model; fast-run: the model and its variant, as openSession leaves it). */
  storeBytes: Record<string, number>;
  modes: DensityModeResult[];
}

export interface TuningRow {
  /** 'baseline' or a model id. */
  subject: string;
  mode: string;
  setting: string;
  n: number;
  perProcessBytes: number;
  perProcessAnon: number;
  /** For model rows: (total - store bytes) / n - baseline per process at the same n (default baseline settings). */
  beyondBaseline?: number;
  error?: string;
}

export interface DensityResults {
  counts: number[];
  /** Runtime baseline processes at every N (settings as tensorshare's worker). */
  baseline: DensityModeResult;
  tuning: TuningRow[];
  models: DensityModelResult[];
}

export interface DedupCase {
  model: string;
  variants: number;
  diffLayers: number;
  /** Sum of the M .onnx files. */
  filesBytes: number;
  /** Repository: allocated bytes of tensors + graphs + manifests (du). */
  repositoryBytes: number;
  /** Store (tmpfs) after making all M resident: allocated bytes (du). */
  storeBytes: number;
  /** Logical/physical from tensorshare du. */
  logicalBytes: number;
  physicalBytes: number;
  /** Bytes varying per variant (the last K layers), for reference. */
  variedBytesPerVariant: number;
  importMs: number[];
}

export interface ColdRep {
  openToFirstMs: number;
  spawnToFirstMs: number;
  /** Worker start to modules imported and inputs built. */
  importMs: number;
  /** open()/create() until the session exists. */
  openMs: number;
  firstRunMs: number;
  materializeMs?: number;
  switchMs?: number;
}

export interface ColdScenarioResult {
  id: string;
  label: string;
  model: string;
  describe: string;
  reps: ColdRep[];
  openToFirst?: Summary;
  spawnToFirst?: Summary;
  openMs?: Summary;
  firstRunMs?: Summary;
  switchMs?: Summary;
  servedMode?: string;
  skipped?: string;
  error?: string;
}

export interface ColdStartResults {
  reps: number;
  dropCaches: { works: boolean; detail: string };
  scenarios: ColdScenarioResult[];
}

export interface LatencySessionResult {
  label: string;
  mode: string;
  summary: Summary;
}

export interface LatencyBatchResult {
  model: string;
  batch: number;
  rounds: number;
  sessions: LatencySessionResult[];
  /** Per tensorshare mode: median(ts)/median(private), and the spread of per-round paired ratios. */
  ratios: { mode: string; ratioOfMedians: number; pairedMedian: number; pairedIqr: number; p99Ratio: number }[];
}

export interface LatencyResults {
  models: { model: string; batches: LatencyBatchResult[]; error?: string }[];
}

export interface ImportCase {
  target: 'disk' | 'tmpfs';
  dir: string;
  ms: number[];
  mbPerSecond: Summary;
  /** fs.copyFile of the source into the same folder (median MB/s): the storage's own speed. */
  copyMbPerSecond?: number;
  /** CPU time (user + system, all threads of the process) of each import. */
  cpuMs?: number[];
  /** CPU time of this process during each copy (the kernel's copy runs on a libuv thread). */
  copyCpuMs?: number[];
  /** Median ms of the imports' phases (import.ts ImportPhases). */
  phases?: { split: number; check: number; commit: number };
  /** The same import with the runtime check's verdict known in this process (no check): what a fine-tuned variant gets. */
  noCheck?: { ms: number[]; mbPerSecond: Summary; cpuMs: number[] };
}

export interface ImportResults {
  model: string;
  sourceBytes: number;
  reps: number;
  cases: ImportCase[];
  /** SHA-256 throughput of one core (crypto, 64 MiB buffer, median of 3). */
  sha256MbPerSecond?: number;
  /** Building the fast-run variant after import (what `tensorshare import` also does), from model preparation. */
  fastRunBuildMs: number;
  /**
   * One import into a fresh repository on disk as `tensorshare import` runs it:
   * openable when importModel returns, variant ready when the background
   * build (a build process) ends; then the same bytes again (a no-op).
   */
  lifecycle?: { openableMs: number; variantReadyMs: number; reimportMs: number; reimportOutcome: string };
  /** 1-minute load average before and after the suite. */
  load?: [number, number];
}

export interface BenchResults {
  format: typeof RESULTS_FORMAT;
  startedAt: string;
  durationMs: number;
  quick: boolean;
  suites: SuiteId[];
  machine: MachineInfo;
  /** 1/5/15-minute load averages at start and end: the machine may be shared. */
  load: { start: number[]; end: number[] };
  threads: number;
  workerEnv: Record<string, string>;
  modes: ModeInfo[];
  models: ModelInfo[];
  density?: DensityResults;
  dedup?: DedupCase[];
  coldStart?: ColdStartResults;
  latency?: LatencyResults;
  import?: ImportResults;
  requestPath?: RequestPathResults;
  functions?: FunctionsResults;
  errors: { suite: string; message: string }[];
}
