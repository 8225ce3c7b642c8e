// Body of a session worker thread (ort-session.ts): creates one ONNX Runtime
// session (of a graph file, or through an open function), then runs it on
// request. Inputs arrive and outputs leave as
// transferred buffers (no copy between threads); outputs of a known shape are
// written in place into the client's mapped region, seen here by address.
// After each answer the thread polls for the next run for `spinMs` before it
// sleeps in its event loop: a run handed to a sleeping thread waits for it to
// wake, and a launch-bound model (BERT-base at batch 1 on an H200) runs slower
// on a thread that just woke than on one that kept its core (measured in
// docs/benchmarks.md, bench:gpu).
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { toWireError } from '../errors.js';
import { viewAt } from './mapping.js';
import { type FromSessionWorker, type SessionSource, type ToSessionWorker, runOrt } from './ort-session.js';

type Ort = typeof import('onnxruntime-node');

const { source, spinMs } = workerData as { source: SessionSource; spinMs?: number };
const port = parentPort!;
const ort = (await import('onnxruntime-node')).default as unknown as Ort;
const post = (m: FromSessionWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

type Opened = { session: InferenceSession; release(): Promise<void> };
async function create(s: SessionSource): Promise<Opened> {
  if ('graph' in s) {
    const session = await ort.InferenceSession.create(s.graph, s.options);
    return { session, release: () => session.release() };
  }
  const open = ((await import(s.module)) as Record<string, unknown>)[s.export];
  if (typeof open !== 'function') throw new Error(`${s.module} exports no function '${s.export}'`);
  return (await open(...s.args)) as Opened;
}

// A failure is posted with its code (the caller ends this thread), not thrown: a thread's uncaught error reaches the
// caller without it.
const opened = await create(source).catch((e: unknown) => {
  post({ kind: 'failed', error: toWireError(e) });
  return undefined;
});
/** Takes the next message as soon as it is posted, for up to spinMs; then the event loop waits for it. */
function spin(): void {
  if (!spinMs) return;
  const until = performance.now() + spinMs;
  while (performance.now() < until) {
    const next = receiveMessageOnPort(port);
    if (next) {
      handle(next.message as ToSessionWorker);
      return;
    }
  }
}

function handle(m: ToSessionWorker): void {
  if (!opened) return;
  if (m.kind === 'release') {
    opened.release().then(
      () => post({ kind: 'done', id: m.id }),
      (e) => post({ kind: 'done', id: m.id, error: toWireError(e) }),
    );
    return;
  }
  // The executor's thread keeps the region mapped until this run answers.
  let ortMs = 0;
  const run = async () => {
    const into = m.into?.map(({ address, length, ...t }) => ({ ...t, bytes: viewAt(address, length) }));
    const t = performance.now();
    const out = await runOrt(ort, opened.session, m.feeds, m.fetches, m.options, into);
    ortMs = performance.now() - t;
    return out;
  };
  run().then(
    (outputs) => {
      post({ kind: 'done', id: m.id, outputs, ortMs }, [...new Set(outputs.map((t) => t.bytes.buffer as ArrayBuffer))]);
      spin();
    },
    (e) => post({ kind: 'done', id: m.id, error: toWireError(e) }),
  );
}

if (opened) {
  port.on('message', (m: ToSessionWorker) => handle(m));
  post({ kind: 'created' });
}
