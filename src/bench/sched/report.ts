// Where the scheduling benchmark's results go: sched.json and the charts into
// a folder, its section into docs/benchmarks.md (the benchmarks' one section
// writer, ../report.ts, so the rest of the document stays as it is).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fenceSection, writeSectionMarkdown } from '../report.js';
import { charts } from './charts.js';
import { markdown } from './markdown.js';
import type { SchedBenchResults } from './results.js';

/** Section id in docs/benchmarks.md: `<!-- bench:sched:start -->` .. `<!-- bench:sched:end -->`. */
export const SECTION_ID = 'sched';

/** Writes sched.json and the SVG charts into `outDir`, and the sched section of `docsFile` (each when given). */
export async function writeReport(
  results: SchedBenchResults,
  outDir: string | undefined,
  docsFile: string | undefined,
  log: (line: string) => void,
): Promise<void> {
  if (outDir) {
    await fs.mkdir(outDir, { recursive: true });
    await fs.writeFile(path.join(outDir, 'sched.json'), `${JSON.stringify(results, null, 2)}\n`);
    for (const [name, svg] of Object.entries(charts(results))) await fs.writeFile(path.join(outDir, name), svg);
    log(`wrote ${path.join(outDir, 'sched.json')} and charts`);
  }
  if (docsFile) {
    const body = markdown(results, outDir ? path.relative(path.dirname(docsFile), outDir) || '.' : undefined);
    writeSectionMarkdown(docsFile, SECTION_ID, fenceSection(SECTION_ID, body));
    log(`updated the sched section of ${docsFile}`);
  }
}
