// The scheduling benchmark's results document (docs/bench/sched.json) and the
// constants every scenario shares. Plain data: summary, charts and markdown
// are pure functions of it, so `bench-sched --render` redoes them from a file.

export interface SchedBenchOptions {
  quick: boolean;
  /** Subset of 1..4. */
  scenarios: number[];
  /** sched.json and SVG charts go here (none when undefined). */
  outDir?: string;
  /** Markdown file whose sched section is replaced (none when undefined). */
  docsFile?: string;
  layers: number;
  seq: number;
  log: (line: string) => void;
}

/** p99 within this is sustainable (with >= 99% of requests answered). */
export const SLO_MS = 150;
/** A failed ladder step that ran beside more than this much foreign CPU is measured once more (at most MAX_RETRIES times per run, to stay bounded). */
export const NOISY_CORES = 0.5;
export const MAX_RETRIES = 8;

/** A measured load step, reduced to what the report needs. */
export interface Step {
  rate: number;
  sent: number;
  ok: number;
  okFraction: number;
  throughput: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  sloAttainment: number;
  rejections: Record<string, number>;
  /** Cores' worth of CPU other processes (not this benchmark, not its server) used during the step. */
  bgCores: number;
}

export interface SchedBenchResults {
  generatedAt: string;
  quick: boolean;
  wallSeconds: number;
  machine: {
    cpuModel: string;
    cores: number;
    node: string;
    onnxruntimeNode: string | null;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
  };
  model: {
    kind: string;
    layers: number;
    hidden: number;
    heads: number;
    intermediate: number;
    seq: number;
    params: number;
    requestOutputs: string;
  };
  sloMs: number;
  /** Two instances at the model's fastest per-sequence time: the scale of offered loads. */
  idealCapacity: number;
  batching?: Scenario1;
  priority?: Scenario2;
  /** Scenario 2 with realtime and besteffort as two functions, besteffort instances at SCHED_IDLE (issue 14, DART). */
  isolation?: Isolation;
  /** GPU -> CPU fallback of besteffort work, simulated on fake time with a stand-in GPU. */
  fallback?: FallbackSim;
  fair?: Scenario3;
  srtf?: Scenario4;
  summary: string[];
}

export interface Compute {
  /** Median ms per sequence at each batch size. */
  perItemMs: Record<string, number>;
  /** Batch 1 over the best batch size. */
  gain: number;
  /** Fastest ms per sequence seen at any batch size (what the machine can do when nothing else runs). */
  fastestMs: number;
}

export interface Scenario1 {
  /** The model alone in this process (onnxruntime, 1 thread): ms per sequence at each batch size, and the best gain over batch 1, at the benchmark's sequence length. */
  compute: Compute;
  /** The same at other sequence lengths (where batching has more to gain). */
  computeBySeq: Record<string, Compute>;
  configs: Record<string, object>;
  instances: number;
  stepMs: number;
  repetitions: number;
  ladder: number[];
  runs: Array<{ config: string; rep: number } & Step & { sustainable: boolean }>;
  /** Per configuration: the highest sustainable offered rate of each repetition, their median and best, and the throughput and p99 measured at the median. */
  maxRate: Record<string, { rates: number[]; median: number; best: number; throughputAtMax: number; p99AtMax: number }>;
  /** Against no batching: from the medians, and from the best repetitions. */
  speedup: { fixed: number; aimd: number; fixedBest: number; aimdBest: number };
  targetSpeedup: number;
  met: { median: boolean; best: boolean };
}

export interface Scenario2 {
  rtRate: number;
  beRate: number;
  batching: object;
  runs: Array<{ phase: string; rep: number; rt: Step; be?: Step }>;
  /** Median realtime p99: alone; beside besteffort under priority, priority with a realtime reserve of 1 run, and fifo. */
  rtP99: { alone: number; priority: number; reserve: number; fifo: number };
  ratio: { priority: number; reserve: number; fifo: number };
  target: number;
  met: { priority: boolean; reserve: boolean };
}

export interface Isolation {
  rtRate: number;
  beRate: number;
  functions: Record<string, object>;
  /** Instance processes of the server whose every thread was at SCHED_IDLE, and all instance processes. */
  idleInstances: number;
  instances: number;
  runs: Array<{ phase: 'rt-alone' | 'be-alone' | 'mixed' | 'mixed-normal-cpu'; rep: number; rt?: Step; be?: Step }>;
  /** Median realtime p99 alone and beside the besteffort overload; mixedNormalCpu: the same with besteffort instances at normal CPU priority. */
  rtP99: { alone: number; mixed: number; mixedNormalCpu: number };
  ratio: number;
  /** Median besteffort throughput alone and beside realtime. */
  beThroughput: { alone: number; mixed: number; mixedNormalCpu: number };
  beShare: number;
  targets: { rtRatio: number; beShare: number };
  met: { rt: boolean; be: boolean };
}

export interface FallbackSim {
  setup: Record<string, number>;
  config: Record<string, number>;
  off: FallbackOutcome;
  on: FallbackOutcome;
  /** With fallback, besteffort completes more requests than without. */
  met: boolean;
}

export interface FallbackOutcome {
  beOffered: number;
  beCompleted: number;
  beOnCpu: number;
  beTimedOut: number;
  rtTimedOut: number;
  rtP99: number;
  onCpuFraction: number;
  switches: number;
}

export interface Scenario3 {
  rates: { a: number; b: number };
  runs: Array<{ policy: string; rep: number; a: Step; b: Step; shareA: number }>;
  shareA: { fair: number; fifo: number };
  /** |throughput_a / mean - 1| under fair. */
  deviation: number;
  target: number;
  met: boolean;
}

export interface Scenario4 {
  rates: number[];
  serviceMs: { short: number; long: number };
  runs: Array<{ policy: string; rate: number; rep: number; all: Step; short: Step; long: Step }>;
  meanMs: Record<string, Record<string, { all: number; short: number; long: number }>>;
  /** The dispatcher alone (src/sched, fake time, no machine noise) on the same mix and measured service times. */
  simulatedMeanMs: Record<string, Record<string, { all: number; short: number; long: number }>>;
}
