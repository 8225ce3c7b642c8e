// A benchmark worker process: `node worker.js '<WorkerTask JSON>'`, forked
// with an IPC channel. It imports only what its opener needs (so a plain
// onnxruntime-node process pays for nothing of tensorshare's), then:
//   hold     open, run once, report memory, stay alive until told to exit
//   cold     open, run once, report the clock marks, exit
//   latency  open several sessions, run them interleaved, report run times
import { readAnonymousByKind, readSmapsRollup } from '../proc/smaps.js';
import type {
  ColdTask,
  HoldTask,
  InputSpec,
  LatencyTask,
  Marks,
  Opener,
  OpenReport,
  WorkerMessage,
  WorkerTask,
} from './protocol.js';

const start = process.hrtime.bigint();
const now = () => process.hrtime.bigint().toString();

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;
type Feeds = Record<string, import('onnxruntime-node').Tensor>;

interface Opened {
  session: Session;
  mode: string;
  materializeMs?: number;
  switched?: Promise<{ switchMs: number } | { error: Error }>;
  release(): Promise<void>;
}

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send!(m, undefined, undefined, (e: Error | null) => (e ? reject(e) : resolve())),
  );
}

async function loadModules(opener: Opener): Promise<{ ort: Ort; open: () => Promise<Opened> }> {
  const ort = (await import('onnxruntime-node')).default as unknown as Ort;
  if (opener.kind === 'tensorshare') {
    const { openSession } = await import('../client/open-session.js');
    return {
      ort,
      open: async () => {
        const s = await openSession(opener.ref, {
          repository: opener.repository,
          store: opener.store,
          mode: opener.mode,
          sessionOptions: opener.sessionOptions,
        });
        return {
          session: s.session,
          mode: s.mode,
          materializeMs: s.materializeMs,
          switched: s.switched,
          release: () => s.release(),
        };
      },
    };
  }
  return {
    ort,
    open: async () => {
      const session = await ort.InferenceSession.create(opener.file, { logSeverityLevel: 3, ...opener.sessionOptions });
      return { session, mode: opener.kind, release: () => session.release() };
    },
  };
}

async function feedsFor(ort: Ort, specs: readonly InputSpec[]): Promise<Feeds> {
  const { buildInputs } = await import('./inputs.js');
  const feeds: Feeds = {};
  for (const i of await buildInputs(specs)) feeds[i.name] = new ort.Tensor(i.dtype, i.data, i.shape);
  return feeds;
}

function summarizeOutputs(out: Record<string, { data: unknown }>): { outputBytes: number; checksum: number } {
  let outputBytes = 0;
  let checksum = 0;
  let first = true;
  for (const t of Object.values(out)) {
    const d = t.data as ArrayLike<number> & { byteLength?: number };
    outputBytes += d.byteLength ?? 0;
    if (first) {
      for (let i = 0; i < Math.min(64, d.length); i++) checksum += Number(d[i]);
      first = false;
    }
  }
  return { outputBytes, checksum };
}

/** Opens the session, runs it once, and returns the report (and the session, still open). */
async function openAndRun(
  opener: Opener,
  inputs: readonly InputSpec[],
): Promise<{ report: OpenReport; opened: Opened }> {
  const { ort, open } = await loadModules(opener);
  const feeds = await feedsFor(ort, inputs);
  const imported = now();
  const before = readSmapsRollup(process.pid);
  const openStart = now();
  const opened = await open();
  const openedAt = now();
  const out = await opened.session.run(feeds);
  const firstResult = now();
  const marks: Marks = { start: start.toString(), imported, openStart, opened: openedAt, firstResult };
  const after = readSmapsRollup(process.pid);
  // Imported after the reading (about 90 KiB, in both the baseline and the instances; served instances do not load it).
  const v8 = await import('node:v8');
  const jsHeap = v8.getHeapSpaceStatistics().reduce((a, sp) => a + sp.physical_space_size, 0);
  const privateParts = { ...readAnonymousByKind(process.pid), jsHeap };
  return {
    report: {
      pid: process.pid,
      mode: opened.mode,
      marks,
      materializeMs: opened.materializeMs,
      ...summarizeOutputs(out as never),
      before,
      after,
      privateParts,
    },
    opened,
  };
}

async function hold(t: HoldTask): Promise<void> {
  const { report, opened } = await openAndRun(t.opener, t.inputs);
  if (t.callers) {
    const ort = (await import('onnxruntime-node')).default as unknown as Ort;
    const feeds = await Promise.all(Array.from({ length: t.callers }, () => feedsFor(ort, t.inputs)));
    await Promise.all(feeds.map((f) => opened.session.run(f)));
    report.after = readSmapsRollup(process.pid);
  }
  // Stay alive (holding the session) until the parent says so or goes away.
  process.on('message', () => void opened.release().finally(() => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
  await send({ type: 'ready', report });
}

async function cold(t: ColdTask): Promise<void> {
  const { report, opened } = await openAndRun(t.opener, t.inputs);
  let switchMs: number | undefined;
  let switchError: string | undefined;
  if (t.awaitSwitch && opened.switched) {
    const r = await opened.switched;
    if ('switchMs' in r) switchMs = r.switchMs;
    else switchError = r.error.message;
  }
  await send({ type: 'cold', report, switchMs, switchError });
  await opened.release();
}

async function latency(t: LatencyTask): Promise<void> {
  const sessions: { label: string; opened: Opened }[] = [];
  let ort: Ort | undefined;
  for (const s of t.sessions) {
    const m = await loadModules(s.opener);
    ort = m.ort;
    sessions.push({ label: s.label, opened: await m.open() });
  }
  const batches: { batch: number; samples: Record<string, number[]> }[] = [];
  for (const b of t.batches) {
    const feeds = await feedsFor(ort!, b.inputs);
    const samples: Record<string, number[]> = Object.fromEntries(sessions.map((s) => [s.label, []]));
    for (let w = 0; w < b.warmup; w++) for (const s of sessions) await s.opened.session.run(feeds);
    const t0 = performance.now();
    for (let r = 0; ; r++) {
      if (r >= b.minRounds && (r >= b.maxRounds || performance.now() - t0 > b.maxSeconds * 1000)) break;
      // Rotate the order every round so no session always runs first (or right after another).
      for (let k = 0; k < sessions.length; k++) {
        const s = sessions[(r + k) % sessions.length]!;
        const a = performance.now();
        await s.opened.session.run(feeds);
        samples[s.label]!.push(performance.now() - a);
      }
    }
    batches.push({ batch: b.batch, samples });
  }
  await send({ type: 'latency', batches, modes: Object.fromEntries(sessions.map((s) => [s.label, s.opened.mode])) });
  for (const s of sessions) await s.opened.release();
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '') as WorkerTask;
  if (task.task === 'hold') return hold(task);
  if (task.task === 'cold') return cold(task);
  return latency(task);
}

main().then(
  () => {
    if ((JSON.parse(process.argv[2]!) as WorkerTask).task !== 'hold') process.exit(0);
  },
  async (e: Error) => {
    await send({ type: 'error', message: e.message, stack: e.stack }).catch(() => {});
    process.exit(1);
  },
);
