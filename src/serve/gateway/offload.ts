// Large request bodies are decoded in worker threads, so the event loop keeps
// answering health checks and small requests while megabytes of JSON or
// protobuf are parsed. Workers have a heap limit: a body that still decodes
// to too much memory kills only its worker (413). A worker stays warm for the
// next decode a short while, then ends, and the memory it grew goes back.
// At most `maxWorkers` decode at once; a few more wait, the rest are refused (429).

import { Worker } from 'node:worker_threads';
import { TensorshareError, fromWireError } from '../../errors.js';
import type { ModelMetadata, Tensor } from '../../tensor/index.js';
import type { ValidatedInferRequest } from '../protocol/backend.js';
import type { BinaryOutputChoice, HttpInferInput } from '../protocol/http-codec.js';
import type { DecodeLimits } from '../protocol/limits.js';
import { tooLarge } from '../protocol/status.js';

export interface OffloadOptions {
  limits: DecodeLimits;
  protoDir: string;
  /** Decodes running at once (default 2). */
  maxWorkers?: number;
  /** Decodes waiting for a worker before more are refused (default 8). */
  maxWaiting?: number;
  /** Old-generation heap of each worker, MiB (default 512). */
  heapMb?: number;
  /** How long a worker stays warm for the next decode before it ends (default 1 s). */
  idleMs?: number;
}

export interface DecodeOffload {
  http(
    input: HttpInferInput,
    model: string,
    version: string | undefined,
    meta: ModelMetadata,
  ): Promise<{ request: ValidatedInferRequest; binaryOutput: BinaryOutputChoice }>;
  grpc(message: Buffer, meta: ModelMetadata): Promise<{ request: ValidatedInferRequest; raw: boolean }>;
  /** Decodes running now (for tests and metrics). */
  running(): number;
  close(): Promise<void>;
}

/** The task a worker runs: one of the protocol's decode functions, by name. */
export type DecodeTask =
  | { kind: 'http'; input: HttpInferInput; model: string; version: string | undefined; meta: ModelMetadata }
  | { kind: 'grpc'; message: Uint8Array; meta: ModelMetadata };

/** A tensor as it crosses a thread: BYTES elements packed into one buffer. */
export type PackedTensor = Omit<Tensor, 'data'> & { data: Tensor['data'] | { packed: Uint8Array; ends: Uint32Array } };

export type PackedRequest = Omit<ValidatedInferRequest, 'inputs'> & { inputs: PackedTensor[] };

export type DecodeReply =
  | { ok: true; request: PackedRequest; extra: BinaryOutputChoice | boolean }
  | { ok: false; code: string; message: string; details: Record<string, unknown> };

const WORKER_URL = new URL('./decode-worker.js', import.meta.url);

export function createDecodeOffload(o: OffloadOptions): DecodeOffload {
  const maxWorkers = o.maxWorkers ?? 2;
  const maxWaiting = o.maxWaiting ?? 8;
  const heapMb = o.heapMb ?? 512;
  const idleMs = o.idleMs ?? 1000;
  const live = new Set<Worker>();
  const waiting: (() => void)[] = [];
  let closed = false;

  const slot = async (): Promise<void> => {
    if (live.size < maxWorkers && waiting.length === 0) return;
    if (waiting.length >= maxWaiting) {
      throw new TensorshareError(
        'ERR_OVERLOADED',
        `${maxWorkers + maxWaiting} large requests are already being decoded; retry later`,
      );
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };

  const idle: { worker: Worker; timer: NodeJS.Timeout }[] = [];
  const spawn = () =>
    new Worker(WORKER_URL, {
      workerData: { limits: o.limits, protoDir: o.protoDir },
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32 },
      stdout: false,
      stderr: false,
    });
  /** A warm worker if one is idle (starting one costs far more than most decodes), else a new one. */
  const acquire = (): Worker => {
    const w = idle.pop();
    if (!w) return spawn();
    clearTimeout(w.timer);
    return w.worker;
  };
  /** Keeps a healthy worker warm for `idleMs`, then ends it so the memory it grew goes back. */
  const release = (worker: Worker, healthy: boolean): void => {
    if (!healthy || closed) {
      void worker.terminate();
      return;
    }
    const entry = {
      worker,
      timer: setTimeout(() => {
        idle.splice(idle.indexOf(entry), 1);
        void worker.terminate();
      }, idleMs).unref(),
    };
    idle.push(entry);
  };

  const run = async (task: DecodeTask, transfer: ArrayBuffer[]): Promise<DecodeReply & { ok: true }> => {
    if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'the gateway is closing');
    await slot();
    const worker = acquire();
    live.add(worker);
    let healthy = false;
    try {
      const reply = await new Promise<DecodeReply>((resolve, reject) => {
        const onMessage = (m: DecodeReply) => settle(() => resolve(m));
        const onError = (e: unknown) => settle(() => reject(e));
        const onExit = (code: number) => settle(() => reject(new Error(`decode worker exited with code ${code}`)));
        const settle = (f: () => void) => {
          worker.off('message', onMessage).off('error', onError).off('exit', onExit);
          f();
        };
        worker.on('message', onMessage).on('error', onError).on('exit', onExit);
        worker.postMessage(task, transfer);
      }).catch((e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
          throw tooLarge(
            `request needs more than the ${heapMb} MiB a decode may use; send tensor data as binary (binary tensor data extension, or raw_input_contents over gRPC)`,
            heapMb * 1024 * 1024,
          );
        }
        throw e;
      });
      healthy = true;
      if (!reply.ok) throw fromWireError(reply);
      return reply;
    } finally {
      live.delete(worker);
      release(worker, healthy);
      waiting.shift()?.();
    }
  };

  return {
    async http(input, model, version, meta) {
      const body = ownBuffer(input.body);
      const reply = await run({ kind: 'http', input: { ...input, body }, model, version, meta }, [
        body.buffer as ArrayBuffer,
      ]);
      return { request: unpackRequest(reply.request), binaryOutput: reply.extra as BinaryOutputChoice };
    },
    async grpc(message, meta) {
      const body = ownBuffer(message);
      const reply = await run({ kind: 'grpc', message: body, meta }, [body.buffer as ArrayBuffer]);
      return { request: unpackRequest(reply.request), raw: reply.extra as boolean };
    },
    running: () => live.size,
    async close() {
      closed = true;
      const all = [
        ...live,
        ...idle.splice(0).map((e) => {
          clearTimeout(e.timer);
          return e.worker;
        }),
      ];
      await Promise.all(all.map((w) => w.terminate()));
    },
  };
}

/** Bytes of its ArrayBuffer a body may leave unused and still be transferred rather than copied (gRPC's 5-byte frame header). */
const TRANSFER_SLACK = 64;

/**
 * `b`'s bytes in a buffer that can be transferred without detaching anything
 * else: its own when `b` (nearly) fills it -- grpc-js hands over the message
 * as a view past the frame header of a buffer of its own, and a copy of 60 MiB
 * holds the event loop about 50 ms -- else a copy.
 */
function ownBuffer(b: Uint8Array): Buffer {
  if (b.buffer.byteLength - b.byteLength <= TRANSFER_SLACK && !(b.buffer instanceof SharedArrayBuffer))
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const copy = Buffer.from(new ArrayBuffer(b.byteLength));
  copy.set(b);
  return copy;
}

/** A decoded request ready to post: typed arrays transferred, BYTES packed (one buffer instead of a million views). */
export function packRequest(req: ValidatedInferRequest): { request: PackedRequest; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const inputs: PackedTensor[] = req.inputs.map((t) => {
    if (t.datatype !== 'BYTES') {
      const d = t.data as Exclude<Tensor['data'], unknown[]>;
      if (d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) transfer.add(d.buffer as ArrayBuffer);
      return t;
    }
    const elems = t.data as Uint8Array[];
    const ends = new Uint32Array(elems.length);
    let total = 0;
    elems.forEach((e, i) => {
      total += e.byteLength;
      ends[i] = total;
    });
    const packed = new Uint8Array(total);
    let off = 0;
    for (const e of elems) {
      packed.set(e, off);
      off += e.byteLength;
    }
    transfer.add(packed.buffer).add(ends.buffer);
    return { ...t, data: { packed, ends } };
  });
  return { request: { ...req, inputs }, transfer: [...transfer] };
}

function unpackRequest(req: PackedRequest): ValidatedInferRequest {
  const inputs = req.inputs.map((t): Tensor => {
    const d = t.data;
    if (!('packed' in d)) return t as Tensor;
    const out: Uint8Array[] = new Array(d.ends.length);
    let start = 0;
    for (let i = 0; i < d.ends.length; i++) {
      out[i] = d.packed.subarray(start, d.ends[i]);
      start = d.ends[i]!;
    }
    return { ...t, data: out };
  });
  return { ...req, inputs };
}
