// Gives the gateway's memory back after a large request. The buffers of a
// request that moved tens of MiB (its body, its outputs, a JSON response
// refused at 64 MiB) are freed only at V8's next full collection, which an
// otherwise idle gateway may not run for minutes, and what they leave in
// malloc's heap stays there until it is trimmed: measured, RSS stayed
// 60-190 MiB above where it was. After such a request, one full collection
// and a malloc_trim run a moment later (tens of ms, once); a burst of large
// requests gets one.
import v8 from 'node:v8';
import vm from 'node:vm';
import koffi from 'koffi';

/** A request that moved at least this many bytes (in and out) is followed by a full collection. */
export const LARGE_REQUEST_BYTES = 16 * 1024 * 1024;

export interface LargeRequestCollector {
  /** Notes a finished request of `bytes` bytes in and out. */
  note(bytes: number): void;
  close(): void;
}

let gc: (() => void) | undefined;
let trim: ((pad: number) => number) | null | undefined;

/** A full V8 collection, then malloc_trim (glibc; elsewhere there is nothing to call). */
export function fullCollection(): void {
  if (!gc) {
    // The collector V8 keeps for --expose-gc, without starting the whole process with that flag.
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  if (trim === undefined) {
    try {
      trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
    } catch {
      trim = null;
    }
  }
  trim?.(0);
}

export function largeRequestCollector(o: { delayMs?: number; collect?: () => void } = {}): LargeRequestCollector {
  // Past the second a decode worker stays warm (offload.ts): what an ended worker freed is trimmed too.
  const delayMs = o.delayMs ?? 2000;
  const collect = o.collect ?? fullCollection;
  let timer: NodeJS.Timeout | undefined;
  return {
    note(bytes) {
      if (bytes < LARGE_REQUEST_BYTES) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        collect();
      }, delayMs).unref();
    },
    close() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
