// One cold start, phase by phase, in a fresh process (forked by coldphases.ts):
// clock marks (process.hrtime, CLOCK_MONOTONIC, shared with the parent) at
// the first statement, after onnxruntime-node is imported, after the opener's
// modules are imported, around the open, the first and second run, then the
// median of a few steady runs; minor page faults (/proc/self/stat field 10)
// and system CPU time of the first and the second run. Imports only what its
// opener needs, so a plain process pays for nothing of tensorshare's.
import { readFileSync } from 'node:fs';
import type { InputSpec, Opener } from './protocol.js';

const start = process.hrtime.bigint();

export interface PhaseTask {
  opener: Opener;
  inputs: InputSpec[];
  steadyRuns: number;
  /**
   * Concurrent clients (coldphases' concurrency part): after the first run the worker says `ready`, waits for `go`,
   * runs this many times and reports each run's time and its start and end marks instead of a phase report.
   */
  concurrentRuns?: number;
}

export interface ConcurrentReport {
  runsMs: number[];
  /** ns marks (CLOCK_MONOTONIC, shared with the parent) as decimal strings. */
  start: string;
  end: string;
}

export interface PhaseReport {
  mode: string;
  /** ns marks as decimal strings. */
  marks: { start: string; ortImported: string; imported: string; openStart: string; opened: string; first: string };
  secondMs: number;
  steadyMs: number;
  faults: { first: number; second: number };
  systemMs: { first: number; second: number };
  /** KiB of shared file memory mapped with huge pages after the first run (smaps_rollup ShmemPmdMapped + FilePmdMapped). */
  pmdMappedKb: number;
}

const now = () => process.hrtime.bigint().toString();
const minorFaults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);
function pmdMappedKb(): number {
  const t = readFileSync('/proc/self/smaps_rollup', 'utf8');
  let kb = 0;
  for (const m of t.matchAll(/^(?:ShmemPmdMapped|FilePmdMapped):\s+(\d+)/gm)) kb += Number(m[1]);
  return kb;
}

async function main(): Promise<void> {
  const t = JSON.parse(process.argv[2] ?? '') as PhaseTask;
  const ort = (await import('onnxruntime-node')).default;
  const ortImported = now();
  const o = t.opener;
  const openSession = o.kind === 'tensorshare' ? (await import('../client/open-session.js')).openSession : undefined;
  // An executor's instances load its client ahead, before their first open (serve/instances/child.ts).
  if (o.kind === 'tensorshare' && o.executor) await (await import('../client/device-preload.js')).preloadDeviceClient();
  const { buildInputs } = await import('./inputs.js');
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const i of await buildInputs(t.inputs)) feeds[i.name] = new ort.Tensor(i.dtype, i.data, i.shape);
  const imported = now();
  const openStart = now();
  let session: import('onnxruntime-node').InferenceSession;
  let mode: string = o.kind;
  let switched: Promise<unknown> | undefined;
  if (o.kind === 'tensorshare') {
    const s = await openSession!(o.ref, {
      repository: o.repository,
      store: o.store,
      mode: o.mode,
      sessionOptions: o.sessionOptions,
      ...(o.executor ? { executor: o.executor } : {}),
    });
    session = s.session;
    mode = o.executor ? 'cpu executor' : s.mode;
    switched = s.switched;
  } else session = await ort.InferenceSession.create(o.file, { logSeverityLevel: 3, ...o.sessionOptions });
  const opened = now();
  const f0 = minorFaults();
  const c0 = process.cpuUsage();
  await session.run(feeds);
  const first = now();
  const c1 = process.cpuUsage();
  const f1 = minorFaults();
  const pmd = pmdMappedKb();
  if (t.concurrentRuns) return concurrent(t.concurrentRuns, () => session.run(feeds));
  // auto: the steady state is the session after its switch to fast-run.
  if (switched) {
    await switched;
    mode = `${mode} -> fast-run`;
  }
  const f2 = minorFaults();
  const c2 = process.cpuUsage();
  const a = performance.now();
  await session.run(feeds);
  const secondMs = performance.now() - a;
  const c3 = process.cpuUsage();
  const f3 = minorFaults();
  const steady: number[] = [];
  for (let i = 0; i < t.steadyRuns; i++) {
    const s = performance.now();
    await session.run(feeds);
    steady.push(performance.now() - s);
  }
  steady.sort((x, y) => x - y);
  const report: PhaseReport = {
    mode,
    marks: { start: start.toString(), ortImported, imported, openStart, opened, first },
    secondMs,
    steadyMs: steady[Math.floor(steady.length / 2)] ?? secondMs,
    faults: { first: f1 - f0, second: f3 - f2 },
    systemMs: { first: (c1.system - c0.system) / 1000, second: (c3.system - c2.system) / 1000 },
    pmdMappedKb: pmd,
  };
  process.send!(report, undefined, undefined, () => process.exit(0));
}

/** One of N clients at once: ready, then on `go` its runs back to back. */
async function concurrent(runs: number, run: () => Promise<unknown>): Promise<void> {
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const runsMs: number[] = [];
  const begin = now();
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    await run();
    runsMs.push(performance.now() - a);
  }
  const report: ConcurrentReport = { runsMs, start: begin, end: now() };
  process.send!(report, undefined, undefined, () => process.exit(0));
}

main().catch((e: Error) => {
  process.send!({ error: e.message }, undefined, undefined, () => process.exit(1));
});
