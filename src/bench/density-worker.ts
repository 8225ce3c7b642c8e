// Density worker for the "plain onnxruntime-node" modes: a child process that
// creates one session of job.model (a file path) with the session options given
// on its command line, runs one inference, reports, then stays alive until it
// is killed (or its parent goes away).
//
//   node density-worker.js [--session-options <json>]
//
// Protocol (IPC channel, see WorkerJob / WorkerMessage in density.ts):
//   parent -> {type: 'job', job}
//   worker -> {type: 'ready', pid, importMs, loadMs, firstRunMs, outputs}
//          |  {type: 'error', pid, message}
// A worker for another mode (tensorshare) implements the same protocol.
import { performance } from 'node:perf_hooks';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { checksum, planFeeds, type InputMetadata } from './feeds.js';
import type { WorkerJob, WorkerMessage } from './density.js';

function parseArgs(argv: readonly string[]): { sessionOptions: OrtSession.SessionOptions } {
  let sessionOptions: OrtSession.SessionOptions = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--session-options') sessionOptions = JSON.parse(argv[++i] ?? '{}') as OrtSession.SessionOptions;
    else throw new Error(`density-worker: unknown argument ${argv[i]}`);
  }
  return { sessionOptions };
}

function send(msg: WorkerMessage): void {
  process.send!(msg);
}

async function run(job: WorkerJob, sessionOptions: OrtSession.SessionOptions): Promise<OrtSession> {
  const t0 = performance.now();
  const ort = await import('onnxruntime-node');
  const t1 = performance.now();
  const session = await ort.InferenceSession.create(job.model, {
    intraOpNumThreads: job.intraOpNumThreads,
    interOpNumThreads: 1,
    ...sessionOptions,
  });
  const t2 = performance.now();
  const plans = planFeeds(session.inputMetadata as readonly InputMetadata[], job.feeds);
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const p of plans) feeds[p.name] = new ort.Tensor(p.type as 'float32', p.data as Float32Array, p.dims);
  const t3 = performance.now();
  const results = await session.run(feeds);
  const t4 = performance.now();
  send({
    type: 'ready',
    pid: process.pid,
    importMs: t1 - t0,
    loadMs: t2 - t1,
    firstRunMs: t4 - t3,
    outputs: session.outputNames.map((name) => {
      const t = results[name]!;
      return { name, type: t.type, dims: [...t.dims], checksum: checksum(t.type, t.data) };
    }),
  });
  return session;
}

function main(): void {
  if (!process.send) {
    console.error('density-worker must be started with an IPC channel (child_process.spawn with stdio "ipc")');
    process.exit(2);
  }
  // The parent died or closed the channel: nothing will ever kill us, so leave.
  process.on('disconnect', () => process.exit(0));
  let sessionOptions: OrtSession.SessionOptions;
  try {
    sessionOptions = parseArgs(process.argv.slice(2)).sessionOptions;
  } catch (e) {
    send({ type: 'error', pid: process.pid, message: (e as Error).message });
    return;
  }
  const keep: OrtSession[] = []; // holds the session (and its memory) until the process is killed
  process.once('message', (msg: { type: string; job: WorkerJob }) => {
    if (msg?.type !== 'job') {
      send({ type: 'error', pid: process.pid, message: `expected a job message, got ${JSON.stringify(msg)}` });
      return;
    }
    run(msg.job, sessionOptions).then(
      (s) => keep.push(s),
      (e: unknown) => send({ type: 'error', pid: process.pid, message: e instanceof Error ? e.message : String(e) }),
    );
  });
}

main();
