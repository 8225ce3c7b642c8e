// What the runtime reports as it works, for metrics and logs. Plain data;
// subscribers get each event synchronously and must not throw.
import type { ExitReason } from './instance.js';

export type RuntimeEvent =
  | {
      type: 'function';
      function: string;
      action: 'deployed' | 'updated' | 'removed' | 'failed';
      version?: string;
      error?: string;
    }
  | { type: 'instance-starting'; function: string; version: string; instance: string; pid?: number }
  | {
      type: 'instance-ready';
      function: string;
      version: string;
      instance: string;
      pid?: number;
      /** Spawn -> ready as the runtime saw it: the instance's cold start. */
      coldStartMs: number;
      /** Inside the instance: opening its models, loading the handler. */
      openMs: number;
      handlerMs: number;
      models: { alias: string; ref: string; mode?: string; openMs: number }[];
    }
  | {
      type: 'instance-exit';
      function: string;
      version: string;
      instance: string;
      pid?: number;
      reason: ExitReason;
      code: number | null;
      signal: string | null;
      error?: string;
    }
  | { type: 'instances'; function: string; starting: number; ready: number; draining: number }
  | {
      type: 'scale';
      function: string;
      from: number;
      to: number;
      reason: string;
      panicking: boolean;
      stableConcurrency: number;
      panicConcurrency: number;
    }
  // One per run on an instance (a batch is one run); queueMs: from arrival upstream to the run's start.
  | { type: 'request'; function: string; outcome: 'ok' | string; queueMs: number; runMs?: number; coldStart: boolean }
  | { type: 'memory-refused'; function: string; estimateBytes: number; reservedBytes: number; budgetBytes: number }
  | { type: 'cores-refused'; function: string; requested: number; available: number; total: number }
  | { type: 'recycle'; function: string; instance: string; bytes: number; limitBytes: number };

export type EventSink = (e: RuntimeEvent) => void;
