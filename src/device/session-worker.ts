// Body of a session worker thread (ort-session.ts): creates one ONNX Runtime
// session, then runs it on request. Inputs arrive and outputs leave as
// transferred buffers (no copy between threads); outputs of a known shape are
// written in place into the client's mapped region, seen here by address.
import { parentPort, workerData } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { viewAt } from './mapping.js';
import { type FromSessionWorker, type ToSessionWorker, runOrt } from './ort-session.js';

type Ort = typeof import('onnxruntime-node');

const { graph, options } = workerData as { graph: string; options: InferenceSession.SessionOptions };
const port = parentPort!;
const ort = (await import('onnxruntime-node')).default as unknown as Ort;
const post = (m: FromSessionWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let session: InferenceSession;
try {
  session = await ort.InferenceSession.create(graph, options);
} catch (e) {
  throw e instanceof Error ? e : new Error(String(e));
}
port.on('message', (m: ToSessionWorker) => {
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
    (outputs) =>
      post({ kind: 'done', id: m.id, outputs, ortMs }, [...new Set(outputs.map((t) => t.bytes.buffer as ArrayBuffer))]),
    (e) => post({ kind: 'done', id: m.id, error: (e as Error)?.message ?? String(e) }),
  );
});
post({ kind: 'created' });
