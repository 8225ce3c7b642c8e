// Human-friendly sizes and durations for settings: "512MiB", "2GB", "0.8"
// (a fraction of the store's tmpfs), "30s", "250ms". Pure parsing.
import { TensorshareError } from '../errors.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/** A budget: absolute bytes, or a fraction (0 < f <= 1) of the store file system's size. */
export type Budget = { bytes: number } | { fraction: number };

export function parseBytes(s: string | number, what = 'size'): number {
  if (typeof s === 'number') {
    if (Number.isSafeInteger(s) && s >= 0) return s;
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: ${s} is not a whole number of bytes`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(s);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: '${s}' is not a size (e.g. 1048576, 512MiB, 2GB)`);
  const v = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(v)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: '${s}' is too large`);
  return v;
}

export function parseBudget(s: string | number, what = 'budget'): Budget {
  if (typeof s === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(s)) {
    const f = Number(s.trim().slice(0, -1)) / 100;
    if (f > 0 && f <= 1) return { fraction: f };
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: '${s}' must be between 0% and 100%`);
  }
  const n = typeof s === 'number' ? s : /^\s*\d*\.?\d+\s*$/.test(s) ? Number(s) : NaN;
  if (n > 0 && n <= 1) return { fraction: n };
  return { bytes: parseBytes(s, what) };
}

export function resolveBudget(b: Budget, fsBytes: number): number {
  return 'bytes' in b ? b.bytes : Math.floor(fsBytes * b.fraction);
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

export function parseDuration(s: string | number, what = 'duration'): number {
  if (typeof s === 'number') {
    if (Number.isFinite(s) && s >= 0) return s;
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: ${s} is not a duration in ms`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/.exec(s);
  const unit = m ? DURATION_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: '${s}' is not a duration (e.g. 500ms, 30s, 5m)`);
  return Number(m[1]) * unit;
}
