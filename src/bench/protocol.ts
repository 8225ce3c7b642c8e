// What the benchmark parent tells a worker process (src/bench/worker.ts) to
// do, and what the worker answers. Plain data only: it crosses process
// boundaries as JSON (argv) and IPC messages.
import type { InferenceSession } from 'onnxruntime-node';
import type { AnonymousByKind, SmapsRollup } from '../proc/smaps.js';

export type SessionOptions = InferenceSession.SessionOptions;

/** How a worker gets its session. */
export type Opener =
  /** Node + onnxruntime-node + a weightless Identity session (`file`): the per-process runtime baseline. */
  | { kind: 'baseline'; file: string; sessionOptions: SessionOptions }
  /** What people do today: InferenceSession.create(file) in every process. */
  | { kind: 'plain'; file: string; sessionOptions: SessionOptions }
  /** tensorshare's daemonless openSession() over the tmpfs store. */
  | {
      kind: 'tensorshare';
      repository: string;
      store: string;
      ref: string;
      mode: 'fast-open' | 'fast-run' | 'auto';
      sessionOptions: SessionOptions;
      /** 'cpu': the session is the daemon's CPU executor's (the store's daemon runs one). */
      executor?: 'cpu';
    };

/** One model input, built the same way in every process. */
export interface InputSpec {
  name: string;
  dtype: 'float32' | 'int64';
  shape: number[];
  /**
   * tokens: int64 ids in [1, vocab) from a fixed sequence; ones; zeros;
   * random: deterministic floats in [-1, 1); ocr-word: the bundled
   * assets/ocr-word.png through the PaddleOCR recognition pre-processing,
   * repeated over the batch (shape must be [b, 3, 48, 320]).
   */
  fill: 'tokens' | 'ones' | 'zeros' | 'random' | 'ocr-word';
  vocab?: number;
}

export interface HoldTask {
  task: 'hold';
  opener: Opener;
  inputs: InputSpec[];
  /**
   * Callers the one session serves at once after the first run (the
   * single-process peer; default none). onnxruntime-node's run() is
   * synchronous on the main thread, so they are served one at a time.
   */
  callers?: number;
}

export interface ColdTask {
  task: 'cold';
  opener: Opener;
  inputs: InputSpec[];
  /** With mode 'auto': also wait for the switch to fast-run and report its time. */
  awaitSwitch?: boolean;
}

export interface LatencySession {
  label: string;
  opener: Opener;
}

export interface LatencyTask {
  task: 'latency';
  sessions: LatencySession[];
  /** One entry per batch size. */
  batches: {
    batch: number;
    inputs: InputSpec[];
    warmup: number;
    minRounds: number;
    maxRounds: number;
    maxSeconds: number;
  }[];
}

export type WorkerTask = HoldTask | ColdTask | LatencyTask;

/** Monotonic clock readings (process.hrtime.bigint(), ns, as decimal strings: CLOCK_MONOTONIC is shared by all processes). */
export interface Marks {
  /** Worker module started evaluating. */
  start: string;
  /** Modules needed for the opener are imported. */
  imported: string;
  /** Right before openSession()/InferenceSession.create(). */
  openStart: string;
  /** The session exists. */
  opened: string;
  /** The first run() resolved. */
  firstResult: string;
}

export interface OpenReport {
  pid: number;
  /** Mode actually serving (tensorshare), 'plain' or 'baseline'. */
  mode: string;
  marks: Marks;
  /** tensorshare: time making the model resident (0 when it already was). */
  materializeMs?: number;
  /** Bytes of all outputs of the first run, and a checksum of the first output (sanity). */
  outputBytes: number;
  checksum: number;
  /** smaps_rollup after imports, before any session. */
  before: SmapsRollup;
  /** smaps_rollup after open + one run. */
  after: SmapsRollup;
  /** Right after the first run: private bytes by mapping (smaps) and V8's committed heap (absent in older results). */
  privateParts?: PrivateParts;
}

export interface PrivateParts extends AnonymousByKind {
  /** V8's committed heap pages (v8.getHeapSpaceStatistics physical sizes), part of `other`. */
  jsHeap: number;
}

export interface ReadyMessage {
  type: 'ready';
  report: OpenReport;
}
export interface ColdMessage {
  type: 'cold';
  report: OpenReport;
  switchMs?: number;
  switchError?: string;
}
export interface LatencyResultMessage {
  type: 'latency';
  /** Per batch: per session label, the run times in ms (round i of every session is interleaved). */
  batches: { batch: number; samples: Record<string, number[]> }[];
  modes: Record<string, string>;
}
export interface ErrorMessage {
  type: 'error';
  message: string;
  stack?: string;
}
export type WorkerMessage = ReadyMessage | ColdMessage | LatencyResultMessage | ErrorMessage;

/** Milliseconds between two Marks readings. */
export function msBetween(a: string, b: string): number {
  return Number(BigInt(b) - BigInt(a)) / 1e6;
}
