// The one way sizes are printed: binary units (B, KiB, MiB, GiB, TiB), about
// three significant digits ("512 B", "1.5 GiB", "12.3 MiB", "436 MiB"). Used
// by messages, the command line, benchmark reports and chart axes alike.

export interface ByteUnit {
  div: number;
  suffix: ByteSuffix;
}

const UNITS: readonly ByteUnit[] = [
  { div: 2 ** 40, suffix: 'TiB' },
  { div: 2 ** 30, suffix: 'GiB' },
  { div: 2 ** 20, suffix: 'MiB' },
  { div: 2 ** 10, suffix: 'KiB' },
];

/** The largest unit that `n` bytes fill at least once (a chart axis prints all its ticks in the unit of its largest value). */
export function byteUnit(n: number): ByteUnit {
  const m = Math.abs(n);
  return UNITS.find((u) => m >= u.div) ?? { div: 1, suffix: 'B' };
}

/** A value with about three significant digits, trailing zeros dropped. */
export function trimNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return String(Number(v.toFixed(digits)));
}

export type ByteSuffix = 'B' | 'KiB' | 'MiB' | 'GiB' | 'TiB';

/** `n` bytes in its own best unit, or in `unit` (a message comparing several sizes reads better in one). */
export function formatBytes(n: number, unit?: ByteSuffix): string {
  const u = unit === undefined ? byteUnit(n) : (UNITS.find((x) => x.suffix === unit) ?? { div: 1, suffix: 'B' });
  return `${trimNumber(n / u.div)} ${u.suffix}`;
}
