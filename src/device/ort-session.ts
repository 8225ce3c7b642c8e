// One model's ONNX Runtime session as the executor uses it: host tensors in,
// host tensors out. onnxruntime-node runs a session on the calling thread
// (its run() only defers to setImmediate), so runs of sessions on one thread
// never overlap. The executor therefore holds each session in a worker
// thread of its own (session-worker.ts): runs of different models are then
// on the device at once, and the executor's thread keeps serving sockets.
// The in-thread form stays for stand-in sessions in tests. Outputs of a
// known shape are written by ONNX Runtime in place, into the client's mapped
// region (preallocated outputs): the worker sees the same mapping through
// its address, so an output crosses no thread and is never copied here.
import { Worker } from 'node:worker_threads';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { fromWireError, type WireError } from '../errors.js';
import { hostTensor, typedView } from './tensors.js';
import type { HostTensor } from './transfer.js';

type Ort = typeof import('onnxruntime-node');

/** An output ORT writes in place: `bytes` for this thread, `address` (the same bytes in a mapping) for another. */
export interface PlacedOutput extends HostTensor {
  address: number;
}

/** A placed output as it crosses to a session worker: where, not the bytes. */
export type OutputSlot = Omit<PlacedOutput, 'bytes'> & { length: number };

/** A run's outputs and the time spent inside ONNX Runtime's run call, on the thread that made it (ms). */
export interface OrtRun {
  outputs: HostTensor[];
  ortMs: number;
}

export interface OrtSession {
  /** With `into`, ORT writes the outputs there (their names, types and dims) and `into` is the result. */
  run(
    feeds: HostTensor[],
    fetches: string[] | undefined,
    options: InferenceSession.RunOptions,
    into?: PlacedOutput[],
  ): Promise<OrtRun>;
  release(): Promise<void>;
}

export type OpenSession = (graph: string, options: InferenceSession.SessionOptions) => Promise<OrtSession>;

export function toOrtFeeds(ort: Ort, feeds: readonly HostTensor[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const t of feeds)
    out[t.name] = new ort.Tensor(t.type as 'float32', typedView(t.type, t.bytes) as Float32Array, t.dims);
  return out;
}

export async function runOrt(
  ort: Ort,
  session: InferenceSession,
  feeds: readonly HostTensor[],
  fetches: string[] | undefined,
  options: InferenceSession.RunOptions,
  into?: readonly HostTensor[],
): Promise<HostTensor[]> {
  const f = toOrtFeeds(ort, feeds);
  if (into) {
    await session.run(f, toOrtFeeds(ort, into), options);
    return [];
  }
  const out = fetches?.length ? await session.run(f, fetches, options) : await session.run(f, options);
  return Object.entries(out).map(([name, t]) => hostTensor(name, t as Tensor));
}

/** Sessions on the calling thread. */
export function inThreadSessions(ort: Ort): OpenSession {
  return async (graph, options) => {
    const session = await ort.InferenceSession.create(graph, options);
    return {
      run: async (feeds, fetches, o, into) => {
        const t = performance.now();
        const out = await runOrt(ort, session, feeds, fetches, o, into);
        return { outputs: into ?? out, ortMs: performance.now() - t };
      },
      release: () => session.release(),
    };
  };
}

/** Messages to and from a session worker. */
export type ToSessionWorker =
  | {
      kind: 'run';
      id: number;
      feeds: HostTensor[];
      fetches?: string[];
      options: InferenceSession.RunOptions;
      into?: OutputSlot[];
    }
  | { kind: 'release'; id: number };
export type FromSessionWorker =
  | { kind: 'created' }
  | { kind: 'failed'; error: WireError }
  | { kind: 'done'; id: number; outputs?: HostTensor[]; ortMs?: number; error?: WireError };

/**
 * What a session worker holds: ORT's session of a graph file, or the session an open function gives (`module`'s
 * export called with `args`, resolving to `{ session, release() }`: an instance's `open()` of a stored model).
 */
export type SessionSource =
  | { graph: string; options: InferenceSession.SessionOptions }
  | { module: string; export: string; args: unknown[] };

/** A worker's error back on this thread: ORT's own (ERR_INTERNAL on the wire) as a plain Error, as in-thread runs throw it. */
const errorFrom = (w: WireError): Error => (w.code === 'ERR_INTERNAL' ? new Error(w.message) : fromWireError(w));

const WORKER = new URL('./session-worker.js', import.meta.url);

/** Bytes that can move to another thread: a copy when they are a view of something larger (a shared-memory region). */
function movable(t: HostTensor): HostTensor {
  const b = t.bytes;
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return t;
  return { ...t, bytes: new Uint8Array(b) };
}

/**
 * Each session in a worker thread of its own; `spinMs`: how long its thread polls for the next run after an answer
 * before it sleeps (session-worker.ts).
 */
export const workerSessions =
  (spinMs = 0): OpenSession =>
  (graph, options) =>
    sessionInWorker({ graph, options }, graph, spinMs);

/** The session an open function gives, in a worker thread of its own: its runs leave the calling thread free. */
export const openedInWorker = (
  source: Extract<SessionSource, { module: string }>,
  label: string,
): Promise<OrtSession> => sessionInWorker(source, label, 0);

function sessionInWorker(source: SessionSource, label: string, spinMs: number): Promise<OrtSession> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { source, spinMs } });
    const pending = new Map<
      number,
      { resolve(v: { outputs?: HostTensor[]; ortMs?: number }): void; reject(e: Error): void }
    >();
    let seq = 0;
    let created = false;
    const fail = (e: Error) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
      if (!created) reject(e);
    };
    worker.on('message', (m: FromSessionWorker) => {
      if (m.kind === 'created') {
        created = true;
        resolve(session);
        return;
      }
      if (m.kind === 'failed') {
        fail(errorFrom(m.error));
        void worker.terminate();
        return;
      }
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (!p) return;
      if (m.error !== undefined) p.reject(errorFrom(m.error));
      else p.resolve(m);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the session thread of ${label} ended (exit code ${code})`)));
    const call = (m: DistributiveOmit<ToSessionWorker, 'id'>, transfer: ArrayBuffer[] = []) =>
      new Promise<{ outputs?: HostTensor[]; ortMs?: number }>((res, rej) => {
        const id = ++seq;
        pending.set(id, { resolve: res, reject: rej });
        worker.postMessage({ ...m, id }, transfer);
      });
    const session: OrtSession = {
      async run(feeds, fetches, o, into) {
        const moved = feeds.map(movable);
        const buffers = [...new Set(moved.map((t) => t.bytes.buffer as ArrayBuffer))];
        const slots = into?.map(({ bytes, ...t }): OutputSlot => ({ ...t, length: bytes.byteLength }));
        const r = await call({ kind: 'run', feeds: moved, fetches, options: o, into: slots }, buffers);
        return { outputs: into ?? r.outputs ?? [], ortMs: r.ortMs ?? 0 };
      },
      async release() {
        await call({ kind: 'release' }).catch(() => {});
        await worker.terminate();
      },
    };
  });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
