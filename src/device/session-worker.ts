// Body of a session worker thread (ort-session.ts): creates one ONNX Runtime
// session, then runs it on request. Inputs arrive and outputs leave as
// transferred buffers (no copy between threads); outputs of a known shape are
// written in place into the client's mapped region, seen here by address.
// After each answer the thread polls for the next run for `spinMs` before it
// sleeps in its event loop: a run handed to a sleeping thread waits for it to
// wake, and a launch-bound model (BERT-base at batch 1 on an H200) runs slower
// on a thread that just woke than on one that kept its core (measured in
// docs/benchmarks.md, bench:gpu).
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { viewAt } from './mapping.js';
import { type FromSessionWorker, type ToSessionWorker, runOrt } from './ort-session.js';

type Ort = typeof import('onnxruntime-node');

const { graph, options, spinMs } = workerData as {
  graph: string;
  options: InferenceSession.SessionOptions;
  spinMs?: number;
};
const port = parentPort!;
const ort = (await import('onnxruntime-node')).default as unknown as Ort;
const post = (m: FromSessionWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let session: InferenceSession;
try {
  session = await ort.InferenceSession.create(graph, options);
} catch (e) {
  throw e instanceof Error ? e : new Error(String(e));
}
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

port.on('message', (m: ToSessionWorker) => handle(m));

function handle(m: ToSessionWorker): void {
  if (m.kind === 'release') {
    session.release().then(
      () => post({ kind: 'done', id: m.id }),
      (e) => post({ kind: 'done', id: m.id, error: (e as Error)?.message ?? String(e) }),
    );
    return;
  }
  // The executor's thread keeps the region mapped until this run answers.
  let ortMs = 0;
  const run = async () => {
    const into = m.into?.map(({ address, length, ...t }) => ({ ...t, bytes: viewAt(address, length) }));
    const t = performance.now();
    const out = await runOrt(ort, session, m.feeds, m.fetches, m.options, into);
    ortMs = performance.now() - t;
    return out;
  };
  run().then(
    (outputs) => {
      post({ kind: 'done', id: m.id, outputs, ortMs }, [...new Set(outputs.map((t) => t.bytes.buffer as ArrayBuffer))]);
      spin();
    },
    (e) => post({ kind: 'done', id: m.id, error: (e as Error)?.message ?? String(e) }),
  );
}
post({ kind: 'created' });
