// Arrival traces for `sim batch`: generated (seeded Poisson arrivals in rate
// phases) or read from a file (one arrival time in ms per line, or a JSON
// array of them). Bad lines name their line number.
import { TensorshareError } from '../../errors.js';
import { seededRandom } from '../../prng.js';

export interface RatePhase {
  /** Requests per second during the phase. */
  ratePerS: number;
  durationMs: number;
}

/** Arrival times (ms from 0, sorted) of a Poisson process whose rate steps through `phases`. */
export function poissonArrivals(phases: readonly RatePhase[], seed: string | number): number[] {
  const random = seededRandom(seed);
  const out: number[] = [];
  let start = 0;
  for (const [i, p] of phases.entries()) {
    if (!(p.ratePerS >= 0 && Number.isFinite(p.ratePerS)) || !(p.durationMs > 0))
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `rate phase ${i + 1}: rate must be >= 0 per second and duration > 0 ms, got ${p.ratePerS}/s for ${p.durationMs} ms`,
      );
    const end = start + p.durationMs;
    if (p.ratePerS > 0) {
      for (let t = start - (Math.log(1 - random()) * 1000) / p.ratePerS; t < end; ) {
        out.push(t);
        t -= (Math.log(1 - random()) * 1000) / p.ratePerS;
      }
    }
    start = end;
  }
  return out;
}

/** Parses a trace file's text: a JSON array of ms, or one number (ms) per line ('#' comments, blank lines skipped). */
export function parseTrace(text: string, file: string): number[] {
  const trimmed = text.trimStart();
  let values: number[];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: not valid JSON: ${(e as Error).message}`, { file });
    }
    values = (parsed as unknown[]).map((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `${file}: element ${i} must be a time >= 0 in ms, got ${JSON.stringify(v)}`,
          { file, index: i },
        );
      return v;
    });
  } else {
    values = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const v = Number(line);
      if (!Number.isFinite(v) || v < 0)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `${file}:${i + 1}: expected an arrival time >= 0 in ms, got '${line}'`,
          { file, line: i + 1 },
        );
      values.push(v);
    });
  }
  if (values.length === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: the trace has no arrivals`, { file });
  return values.sort((a, b) => a - b);
}
