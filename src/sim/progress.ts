// A progress bar for long simulations: events done of events expected, on
// stderr when it is a terminal (never with --json), else nothing. The
// simulators call `tick` often; the bar redraws at most every 100 ms.
import cliProgress from 'cli-progress';

export interface Progress {
  tick(done: number, total: number): void;
  stop(): void;
}

export const noProgress: Progress = { tick: () => {}, stop: () => {} };

export function progressBar(label: string, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return noProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    tick(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
