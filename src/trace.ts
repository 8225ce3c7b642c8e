// Chrome trace events (the JSON array format), viewable in Perfetto or
// chrome://tracing. Events are appended as they happen, synchronously, so a
// killed process still leaves a readable file: the format allows the closing
// ']' to be missing. Spans are nestable async events ('b'/'e'): spans that
// share an id nest on one track, concurrent operations get their own.
import fs from 'node:fs';

export interface Tracer {
  readonly enabled: boolean;
  span<T>(name: string, id: string | number, fn: () => Promise<T>, args?: Record<string, unknown>): Promise<T>;
  instant(name: string, args?: Record<string, unknown>): void;
  close(): void;
}

export const noTracer: Tracer = {
  enabled: false,
  span: (_n, _i, fn) => fn(),
  instant: () => {},
  close: () => {},
};

/** Microseconds since the Unix epoch, so traces of several processes line up. */
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** `file` may contain `%p`, replaced by the process id (one file per client process). */
export function createTracer(file: string | undefined, processName: string, pid = process.pid): Tracer {
  if (!file) return noTracer;
  const fd = fs.openSync(file.replaceAll('%p', String(pid)), 'w');
  let first = true;
  let closed = false;
  const write = (e: Record<string, unknown>) => {
    if (closed) return;
    fs.writeSync(fd, (first ? '[\n' : ',\n') + JSON.stringify(e));
    first = false;
  };
  write({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: processName } });
  return {
    enabled: true,
    async span(name, id, fn, args) {
      const base = { name, cat: 'tensorshare', id: String(id), pid, tid: 0 };
      write({ ...base, ph: 'b', ts: nowUs(), args });
      try {
        const r = await fn();
        write({ ...base, ph: 'e', ts: nowUs() });
        return r;
      } catch (e) {
        write({ ...base, ph: 'e', ts: nowUs(), args: { error: (e as Error).message } });
        throw e;
      }
    },
    instant(name, args) {
      write({ name, cat: 'tensorshare', ph: 'i', s: 'p', ts: nowUs(), pid, tid: 0, args });
    },
    close() {
      if (closed) return;
      fs.writeSync(fd, first ? '[]\n' : '\n]\n');
      closed = true;
      fs.closeSync(fd);
    },
  };
}
