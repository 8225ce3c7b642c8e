// The JSON text of an instance's large outputs, written by two threads at
// once: this one formats the first half of each request's elements while a
// worker thread formats the second. Formatting numbers is most of a large
// JSON response's cost (about 45 ms for 265,000 floats, twice the model's
// run), and a request that is alone on the machine has a core to spare for
// it. The worker starts on the first large output and ends after a while
// idle; if it fails, this thread formats its half too, so a response never
// waits on a thread that is gone.
import { Worker } from 'node:worker_threads';
import type { Tensor } from '../../tensor/index.js';
import { isPlainNumeric, jsonItemsBytes, jsonTextRanges } from '../protocol/json-text.js';

/** Requests with fewer elements than this are formatted by one thread: handing half over would cost more. */
export const PARALLEL_MIN_ELEMENTS = 32_768;

export interface JsonFormatter {
  /**
   * The JSON text of `t`'s data per request of its batch, each as pieces to
   * be written one after another (see jsonTextParts), or undefined when the
   * gateway should write it.
   */
  parts(t: Tensor, rows: readonly number[] | undefined, maxBytes: number): Promise<Uint8Array[][] | undefined>;
  close(): void;
}

export interface JsonFormatterOptions {
  /** How long the worker stays for the next output before it ends (default 10 s). */
  idleMs?: number;
  /** See PARALLEL_MIN_ELEMENTS (tests lower it). */
  parallelMinElements?: number;
}

/** A task for the worker: the JSON text of `data` (a copy of the elements it formats), after a comma. */
export interface FormatTask {
  id: number;
  datatype: Tensor['datatype'];
  data: Tensor['data'];
}

export type FormatReply = { id: number; bytes: Uint8Array } | { id: number; error: string };

const WORKER_URL = new URL('./json-formatter-worker.js', import.meta.url);

export function createJsonFormatter(o: JsonFormatterOptions = {}): JsonFormatter {
  const idleMs = o.idleMs ?? 10_000;
  const parallelMin = o.parallelMinElements ?? PARALLEL_MIN_ELEMENTS;
  let worker: Worker | undefined;
  let idle: NodeJS.Timeout | undefined;
  let nextId = 0;
  const waiting = new Map<number, (bytes: Uint8Array | undefined) => void>();

  const stop = () => {
    const w = worker;
    worker = undefined;
    if (idle) clearTimeout(idle);
    for (const done of waiting.values()) done(undefined);
    waiting.clear();
    void w?.terminate();
  };
  const started = (): Worker => {
    if (worker) return worker;
    const w = new Worker(WORKER_URL);
    w.unref();
    w.on('message', (m: FormatReply) => {
      const done = waiting.get(m.id);
      waiting.delete(m.id);
      done?.('bytes' in m ? m.bytes : undefined);
    });
    // A worker that broke answers nothing more: its halves are formatted here.
    w.on('error', () => worker === w && stop());
    w.on('exit', () => worker === w && stop());
    worker = w;
    return w;
  };
  /** The worker's text of elements [from, to), or undefined if it could not write it. */
  const inWorker = (t: Tensor, from: number, to: number): Promise<Uint8Array | undefined> => {
    const w = started();
    if (idle) clearTimeout(idle);
    const id = nextId++;
    const data = t.data.slice(from, to) as Tensor['data'];
    const task: FormatTask = { id, datatype: t.datatype, data };
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      w.postMessage(task, [(data as Exclude<Tensor['data'], unknown[]>).buffer as ArrayBuffer]);
    }).finally(() => {
      if (waiting.size === 0 && worker) idle = setTimeout(stop, idleMs).unref();
    }) as Promise<Uint8Array | undefined>;
  };

  return {
    async parts(t, rows, maxBytes) {
      const ranges = jsonTextRanges(t, rows, maxBytes);
      if (!ranges) return undefined;
      const split = isPlainNumeric(t.datatype);
      // Every second half goes to the worker first, so it works while this thread writes the first halves.
      const halves = ranges.map(([from, to]) => {
        const mid = split && to - from >= parallelMin ? from + Math.floor((to - from) / 2) : to;
        return { from, mid, to, second: mid < to ? inWorker(t, mid, to) : undefined };
      });
      const out: Uint8Array[][] = [];
      let bytes = 0;
      for (const h of halves) {
        const pieces: Uint8Array[] = [jsonItemsBytes(t, h.from, h.mid)];
        if (h.second) pieces.push((await h.second) ?? jsonItemsBytes(t, h.mid, h.to, ','));
        for (const p of pieces) bytes += p.length;
        if (bytes > maxBytes) return undefined;
        out.push(pieces);
      }
      return out;
    },
    close: stop,
  };
}
