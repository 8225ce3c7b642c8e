// The hostile benchmark's results: hostile.json and its section of
// docs/benchmarks.md (through the benchmarks' one section writer).
import fs from 'node:fs/promises';
import path from 'node:path';
import { markdownTable, machineTable, fenceSection, writeSectionMarkdown } from '../report.js';
import { HEALTH_BOUND_MS, RSS_SLACK_MIB, type HostileResults } from './run.js';

export const SECTION_ID = 'hostile';

const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

/** One line per target, with its verdict. */
export function summary(r: HostileResults): string[] {
  const worst = r.attacks.filter((a) => a.id !== 'idle').reduce((m, a) => Math.max(m, a.health.max), 0);
  const idle = r.attacks.find((a) => a.id === 'idle');
  const errors = r.attacks.filter((a) => a.error || a.answer?.serverError).map((a) => a.id);
  const slow = r.attacks.filter((a) => a.rssMiB.settled > a.rssMiB.before + RSS_SLACK_MIB).map((a) => a.id);
  return [
    `health within ${HEALTH_BOUND_MS} ms while each attack is in flight: worst ${worst.toFixed(1)} ms${idle ? ` (idle: ${idle.health.max.toFixed(1)} ms)` : ''}: ${verdict(r.verdicts.health)}`,
    `no 5xx for any attack: ${errors.length ? `server errors for ${errors.join(', ')}` : 'none'}: ${verdict(r.verdicts.noServerErrors)}`,
    `gateway RSS back within ${RSS_SLACK_MIB} MiB of its level before each attack, within 10 s: ${slow.length ? `not for ${slow.join(', ')}` : 'always'}: ${verdict(r.verdicts.memoryBack)}`,
  ];
}

export function markdown(r: HostileResults): string {
  const rows = r.attacks.map((a) => [
    a.id,
    a.what,
    a.error ? `failed: ${a.error}` : a.answer!.status,
    a.ms.toFixed(0),
    a.health.n,
    a.health.p50.toFixed(1),
    a.health.p99.toFixed(1),
    a.health.max.toFixed(1),
    `${a.rssMiB.before.toFixed(0)} → ${a.rssMiB.after.toFixed(0)} → ${a.rssMiB.settled.toFixed(0)}`,
  ]);
  return [
    '## Hostile input: health and memory while attacks are in flight',
    '',
    `\`tensorshare bench-hostile\`${r.quick ? ' --quick' : ''}, ${r.startedAt}. A real \`tensorshare serve\` (bundled functions, its own daemon, HTTP and gRPC) receives each request of issue 11 from a process of its own while the benchmark polls \`/v2/health/ready\` back to back. Load average before/after: ${r.loadavg.before.map((v) => v.toFixed(2)).join(' ')} / ${r.loadavg.after.map((v) => v.toFixed(2)).join(' ')}.`,
    '',
    markdownTable({
      headers: [
        'attack',
        'request',
        'answer',
        'ms',
        'health checks',
        'p50 ms',
        'p99 ms',
        'max ms',
        'gateway RSS MiB (before → after → settled)',
      ],
      rows,
    }),
    '',
    ...summary(r).map((l) => `- ${l}`),
    '',
    markdownTable(machineTable(r.machine)),
  ].join('\n');
}

export async function writeReport(
  r: HostileResults,
  outDir: string | undefined,
  docsFile: string | undefined,
  log: (line: string) => void,
): Promise<void> {
  if (outDir) {
    await fs.mkdir(outDir, { recursive: true });
    await fs.writeFile(path.join(outDir, 'hostile.json'), `${JSON.stringify(r, null, 2)}\n`);
    log(`wrote ${path.join(outDir, 'hostile.json')}`);
  }
  if (docsFile) {
    writeSectionMarkdown(docsFile, SECTION_ID, fenceSection(SECTION_ID, markdown(r)));
    log(`updated the hostile section of ${docsFile}`);
  }
}
