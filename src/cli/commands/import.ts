import type { Command } from 'commander';
import { TensorshareError } from '../../errors.js';
import { importModel } from '../../store/import.js';
import { buildFastRun } from '../../store/fast-run.js';
import { action, emit, mb, progressBar } from '../output.js';
import { roots } from '../context.js';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import an ONNX model into the repository (tensors stored once, by content)')
    .argument('<model.onnx>', 'ONNX file; external data files are read relative to it')
    .requiredOption('-n, --name <name>', 'model name')
    .option('-v, --version <version>', 'version (default: next number, or the existing one if identical)')
    .option('--mode <mode>', 'default open mode: fast-open | fast-run', 'fast-run')
    .option('--no-fast-run', 'skip building the fast-run variant now (it is then built on first fast-run open)')
    .option('--allow-unrunnable', 'import a model ONNX Runtime cannot load (it cannot be opened until a runtime can), with a warning')
    .option('--min-external-bytes <n>', 'initializers smaller than this stay inside the graph (default 1024)', (v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1) throw new TensorshareError('ERR_INVALID_ARGUMENT', `--min-external-bytes must be a positive integer, got '${v}'`);
      return n;
    })
    .option('--json', 'print JSON')
    .action(action(async (file: string, opts: { name: string; version?: string; mode: string; fastRun: boolean; allowUnrunnable?: boolean; minExternalBytes?: number; json?: boolean }, cmd: Command) => {
      if (opts.mode !== 'fast-open' && opts.mode !== 'fast-run') throw new TensorshareError('ERR_INVALID_ARGUMENT', `--mode must be fast-open or fast-run, got '${opts.mode}'`);
      const { repository, repo } = roots(cmd);
      const bar = progressBar(opts, 'import');
      const r = await importModel(repository, file, { name: opts.name, version: opts.version, defaultMode: opts.mode, allowUnrunnable: opts.allowUnrunnable, minExternalBytes: opts.minExternalBytes, onProgress: bar.update }).finally(bar.stop);
      for (const w of r.warnings) console.error(`warning: ${w}`);
      const m = r.manifest;
      // Built here, at import, so that the first open already runs at full
      // speed; ORT reads the tensors straight from the repository.
      const fastRun = opts.fastRun && !m.runtime?.unrunnable ? await buildFastRun(repo, repo, m) : undefined;
      const bytes = m.tensors.reduce((a, t) => a + t.bytes, 0);
      const mbPerSecond = m.source.bytes / 1e6 / (r.ms / 1000);
      emit(opts, { ...r, repository, mbPerSecond, fastRun: fastRun && { key: `${fastRun.variant.ortVersion}/${fastRun.variant.target}`, built: fastRun.built, buildMs: fastRun.variant.buildMs, status: fastRun.variant.status, reason: fastRun.variant.reason } }, (v) => [
        `${r.outcome === 'created' ? 'imported' : 'already present:'} ${m.name}:${m.version}  ${m.tensors.length} tensors, ${mb(bytes)} (${mb(r.bytesAdded)} new) in ${r.ms.toFixed(0)} ms (${mbPerSecond.toFixed(0)} MB/s)`,
        v.fastRun ? `fast-run variant for ORT ${v.fastRun.key}: ${v.fastRun.status === 'ok' ? (v.fastRun.built ? `built in ${v.fastRun.buildMs} ms` : 'already built') : `unavailable (opens use fast-open): ${v.fastRun.reason}`}` : '',
      ].filter(Boolean).join('\n'));
    }));
}
