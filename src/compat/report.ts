// The compatibility table as Markdown (docs/compatibility.md) and as a
// one-line-per-row console summary.
import { COMPAT_MODES, type CompatRow, type ModeResult } from './runner.js';

const SOURCE: Record<CompatRow['source'], string> = { corpus: 'CI corpus', bundled: 'bundled', external: 'external' };

function cell(r: ModeResult | undefined): string {
  if (!r) return '-';
  return `${r.ok ? 'pass' : '**FAIL**'}${r.servedBy ? ` (${r.servedBy})` : ''}`;
}

function kb(n: number | undefined): string {
  return n === undefined
    ? '-'
    : n < 1024
      ? `${n} B`
      : n < 1 << 20
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function notes(row: CompatRow): string {
  if (row.ortCannotRun) return row.ortCannotRun;
  const irThree = row.initializerInputs
    ? [
        `${row.initializerInputs} initializers listed as graph inputs, dropped at import; fast-run compared with ORT defaults on the model without them`,
      ]
    : [];
  return [...irThree, ...COMPAT_MODES.flatMap((m) => (row.modes[m]?.note ? [`${m}: ${row.modes[m]!.note}`] : []))].join(
    '; ',
  );
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

export function markdownTable(rows: readonly CompatRow[]): string {
  const head = [
    'source',
    'model',
    'what it exercises',
    'threshold',
    'fast-open',
    'fast-run',
    'auto',
    'auto, 2nd request',
    'model / variant adds',
    'result',
    'notes',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const modes = r.ortCannotRun ? COMPAT_MODES.map(() => 'ORT cannot run') : COMPAT_MODES.map((m) => cell(r.modes[m]));
    lines.push(
      `| ${[SOURCE[r.source], r.model, r.family, `${r.threshold} B`, ...modes, `${kb(r.modelBytes)} / ${kb(r.variantBytes)}`, r.passed ? 'pass' : '**FAIL**', notes(r)].map(esc).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function summaryLine(r: CompatRow): string {
  const modes = r.ortCannotRun
    ? 'ORT cannot run'
    : COMPAT_MODES.map((m) => `${m}=${r.modes[m]?.ok ? 'ok' : 'FAIL'}`).join(' ');
  return `${r.passed ? 'pass' : 'FAIL'}  ${r.model} @${r.threshold}B  ${modes}${notes(r) ? `  (${notes(r)})` : ''}`;
}
