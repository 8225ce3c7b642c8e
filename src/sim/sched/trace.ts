// The job trace of `tensorshare sim sched`: what arrives at the device
// executor, when, how much work it brings and how much memory it holds.
//
// JSONL: one job per line. JSON: {"jobs": [...]} or a bare array of jobs.
//   id               unique name (required)
//   arrivalMs        when the job arrives, ms from the start (required, >= 0)
//   iterations       runs the job needs, each iterationMs long on a device of its own,
//   iterationMs      or instead durationMs: one run of that length
//   persistentBytes  P: weights and state kept on the device while the job is there (required)
//   ephemeralBytes   E: the peak a run adds on top (activations, scratch; required)
//   utilization      fraction of the device's compute one run uses alone, (0, 1], default 1
//   priority         realtime | besteffort (default besteffort)
//   tenant           charged for device time under fair (default: the job)
//   submit           queue: every run is handed to the executor when the job arrives (a
//                    job scheduler's view, Salus's); loop: the next run is sent when the last
//                    one returns (a training loop or a client sending back to back).
//                    Default queue.
//   model, kind      labels carried to the report (e.g. resnet50_25, training)
import type { PriorityClass } from '../../sched/dispatcher.js';
import { type TraceRecord, parseTraceText, readTraceFile, traceError } from '../trace-io.js';

export type SubmitMode = 'queue' | 'loop';

export interface SchedJob {
  id: string;
  arrivalMs: number;
  iterations: number;
  iterationMs: number;
  persistentBytes: number;
  ephemeralBytes: number;
  utilization: number;
  priority: PriorityClass;
  tenant?: string;
  submit: SubmitMode;
  model?: string;
  kind?: string;
}

const FIELDS = new Set([
  'id',
  'arrivalMs',
  'iterations',
  'iterationMs',
  'durationMs',
  'persistentBytes',
  'ephemeralBytes',
  'utilization',
  'priority',
  'tenant',
  'submit',
  'model',
  'kind',
]);

function jobFrom(r: TraceRecord, file: string, where: string): SchedJob {
  const bad = (m: string) => traceError(file, r.line, `${where}: ${m}`, { index: r.index });
  const v = r.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('a job must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw bad(`unknown field '${k}'`);
  const num = (k: string, ok: (n: number) => boolean, what: string, dflt?: number): number => {
    const x = o[k];
    if (x === undefined && dflt !== undefined) return dflt;
    if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x))
      throw bad(`${k} must be ${what}, got ${JSON.stringify(x)}`);
    return x;
  };
  const str = (k: string): string | undefined => {
    const x = o[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'string' || x === '') throw bad(`${k} must be a non-empty string, got ${JSON.stringify(x)}`);
    return x;
  };
  const id = str('id');
  if (id === undefined) throw bad('id is missing');
  const whole = (n: number) => Number.isSafeInteger(n) && n >= 0;
  let iterations: number;
  let iterationMs: number;
  if (o.durationMs !== undefined) {
    if (o.iterations !== undefined || o.iterationMs !== undefined)
      throw bad('give durationMs or iterations with iterationMs, not both');
    iterations = 1;
    iterationMs = num('durationMs', (n) => n > 0, 'a positive number of ms');
  } else {
    if (o.iterations === undefined || o.iterationMs === undefined)
      throw bad('the work is missing: give durationMs, or iterations with iterationMs');
    iterations = num('iterations', (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer');
    iterationMs = num('iterationMs', (n) => n > 0, 'a positive number of ms');
  }
  const priority = str('priority') ?? 'besteffort';
  if (priority !== 'realtime' && priority !== 'besteffort')
    throw bad(`priority must be realtime or besteffort, got ${JSON.stringify(priority)}`);
  const submit = str('submit') ?? 'queue';
  if (submit !== 'queue' && submit !== 'loop') throw bad(`submit must be queue or loop, got ${JSON.stringify(submit)}`);
  return {
    id,
    arrivalMs: num('arrivalMs', (n) => n >= 0, 'a number of ms >= 0'),
    iterations,
    iterationMs,
    persistentBytes: num('persistentBytes', whole, 'a whole number of bytes'),
    ephemeralBytes: num('ephemeralBytes', whole, 'a whole number of bytes'),
    utilization: num('utilization', (n) => n > 0 && n <= 1, 'in (0, 1]', 1),
    priority,
    tenant: str('tenant'),
    submit,
    model: str('model'),
    kind: str('kind'),
  };
}

/** Jobs of a trace's records (see parseTraceText), in arrival order (ties: file order). */
export function jobsFromRecords(records: readonly TraceRecord[], file: string): SchedJob[] {
  let items: TraceRecord[] = [...records];
  const first = records[0];
  if (records.length === 1 && first && typeof first.value === 'object' && first.value !== null) {
    const doc = first.value as Record<string, unknown>;
    const list = Array.isArray(doc) ? doc : Array.isArray(doc.jobs) ? doc.jobs : undefined;
    if (list === undefined && !('id' in doc))
      throw traceError(file, first.line, 'a JSON trace is an array of jobs or an object with a "jobs" array');
    if (list) items = list.map((value, index) => ({ value, line: first.line, index }));
  }
  const seen = new Set<string>();
  const jobs = items.map((r) => {
    const j = jobFrom(r, file, `job ${r.index + 1}`);
    if (seen.has(j.id)) throw traceError(file, r.line, `job ${r.index + 1}: id '${j.id}' appears twice`);
    seen.add(j.id);
    return j;
  });
  if (jobs.length === 0) throw traceError(file, 1, 'the trace has no jobs');
  return jobs
    .map((j, i) => ({ j, i }))
    .sort((a, b) => a.j.arrivalMs - b.j.arrivalMs || a.i - b.i)
    .map((x) => x.j);
}

export const parseSchedTrace = (text: string, file: string): SchedJob[] =>
  jobsFromRecords(parseTraceText(text, file), file);

export const readSchedTrace = (file: string): SchedJob[] => jobsFromRecords(readTraceFile(file), file);

/** A job as a trace record (the fields a file holds; defaults left out). */
export function jobRecord(j: SchedJob): Record<string, unknown> {
  const r: Record<string, unknown> = { id: j.id, arrivalMs: j.arrivalMs };
  if (j.model) r.model = j.model;
  if (j.kind) r.kind = j.kind;
  r.iterations = j.iterations;
  r.iterationMs = j.iterationMs;
  r.persistentBytes = j.persistentBytes;
  r.ephemeralBytes = j.ephemeralBytes;
  if (j.utilization !== 1) r.utilization = j.utilization;
  if (j.priority !== 'besteffort') r.priority = j.priority;
  if (j.tenant) r.tenant = j.tenant;
  if (j.submit !== 'queue') r.submit = j.submit;
  return r;
}
