// A child process's JSON-lines output, read as it comes, with a wait for the
// first line that matches (tests' daemons and servers, the GPU benchmark's
// workers): one reader, so every caller fails the same way on exit or time-out.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * The JSON lines a child writes on `stream` (a line that is not JSON becomes
 * `asText(line)`), and a wait for the first one at or after `from` that
 * matches: it fails with `failure(why)` when the child exits or time is up.
 */
export function jsonLines<T>(proc: ChildProcess, stream: Readable, asText: (line: string) => T) {
  const lines: T[] = [];
  const listeners = new Set<() => void>();
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as T);
      } catch {
        lines.push(asText(line));
      }
    }
    for (const l of listeners) l();
  });
  const wait = (
    pred: (line: T) => boolean,
    from: number,
    timeoutMs: number,
    failure: (why: 'exit' | 'timeout') => string,
  ) =>
    new Promise<{ line: T; index: number }>((resolve, reject) => {
      const check = () => {
        const index = lines.findIndex((l, k) => k >= from && pred(l));
        if (index >= 0) {
          done();
          resolve({ line: lines[index]!, index });
        }
      };
      const onExit = () => {
        check(); // a line read just before the exit still counts
        done();
        reject(new Error(failure('exit')));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(failure('timeout')));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
        proc.off('exit', onExit);
      };
      listeners.add(check);
      proc.once('exit', onExit);
      check();
    });
  return { lines, wait };
}
