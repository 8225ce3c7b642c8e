// Output conventions shared by every command: --json prints one JSON
// document on stdout; otherwise a human summary. Errors print their stable
// code and exit non-zero. Progress bars appear only on a terminal.
import cliProgress from 'cli-progress';
import { isTensorshareError } from '../errors.js';

export interface JsonOption {
  json?: boolean;
}

export function emit<T>(opts: JsonOption, value: T, human: (v: T) => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value)}\n`);
}

export function fail(e: unknown, json = false): never {
  const code = isTensorshareError(e) ? e.code : 'ERR_INTERNAL';
  const message = e instanceof Error ? e.message : String(e);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  process.stderr.write(`tensorshare: ${message} [${code}]\n`);
  if (!isTensorshareError(e) && process.env.TENSORSHARE_DEBUG && e instanceof Error)
    process.stderr.write(`${e.stack}\n`);
  process.exit(code === 'ERR_INVALID_ARGUMENT' ? 2 : 1);
}

/** A byte progress bar on stderr when it is a terminal, else a no-op. */
export function progressBar(
  opts: JsonOption,
  label: string,
): { update: (done: number, total: number) => void; stop: () => void } {
  if (opts.json || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {doneMB}/{totalMB} MB | {speed} MB/s`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  let started = false;
  return {
    update(done, total) {
      const payload = {
        doneMB: (done / 1e6).toFixed(1),
        totalMB: (total / 1e6).toFixed(1),
        speed: (done / 1e3 / Math.max(1, performance.now() - t0)).toFixed(0),
      };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Wraps an action so errors are reported uniformly. */
export function action<T, A extends unknown[]>(
  fn: (this: T, ...args: A) => Promise<void>,
): (this: T, ...args: A) => Promise<void> {
  return async function (this: T, ...args: A) {
    const opts = args.find((a) => a && typeof a === 'object' && !Array.isArray(a) && 'json' in (a as object)) as
      | JsonOption
      | undefined;
    try {
      await fn.apply(this, args);
    } catch (e) {
      fail(e, opts?.json);
    }
  };
}
