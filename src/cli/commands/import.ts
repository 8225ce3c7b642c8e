import type { Command } from 'commander';
import { TensorshareError } from '../../errors.js';
import { importModel } from '../../store/import.js';
import { buildFastRun } from '../../store/fast-run.js';
import { action, emit, progressBar } from '../output.js';
import { formatBytes } from '../../bytes.js';
import { roots } from '../context.js';
import { graphPath } from '../../store/layout.js';
import { readStoredGraph } from '../../store/stored-graph.js';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import an ONNX model into the repository (tensors stored once, by content)')
    .argument('<model.onnx>', 'ONNX file; external data files are read relative to it')
    .requiredOption('-n, --name <name>', 'model name')
    .option('-v, --version <version>', 'version (default: next number, or the existing one if identical)')
    .option('--mode <mode>', 'default open mode: fast-open | fast-run', 'fast-run')
    .option('--no-fast-run', 'skip building the fast-run variant now (it is then built on first fast-run open)')
    .option(
      '--allow-unrunnable',
      'import a model ONNX Runtime cannot load (it cannot be opened until a runtime can), with a warning',
    )
    .option('--min-external-bytes <n>', 'initializers smaller than this stay inside the graph (default 1024)', (v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `--min-external-bytes must be a positive integer, got '${v}'`,
        );
      return n;
    })
    .option('--json', 'print JSON')
    .action(
      action(
        async (
          file: string,
          opts: {
            name: string;
            version?: string;
            mode: string;
            fastRun: boolean;
            allowUnrunnable?: boolean;
            minExternalBytes?: number;
            json?: boolean;
          },
          cmd: Command,
        ) => {
          if (opts.mode !== 'fast-open' && opts.mode !== 'fast-run')
            throw new TensorshareError(
              'ERR_INVALID_ARGUMENT',
              `--mode must be fast-open or fast-run, got '${opts.mode}'`,
            );
          const { repository, repo } = roots(cmd);
          const t0 = performance.now();
          const bar = progressBar(opts, 'import');
          const r = await importModel(repository, file, {
            name: opts.name,
            version: opts.version,
            defaultMode: opts.mode,
            allowUnrunnable: opts.allowUnrunnable,
            minExternalBytes: opts.minExternalBytes,
            onProgress: bar.update,
          }).finally(bar.stop);
          for (const w of r.warnings) console.error(`warning: ${w}`);
          const m = r.manifest;
          // Built here, at import, so that the first open already runs at full
          // speed; ORT reads the tensors straight from the repository.
          const fastRun = opts.fastRun && !m.runtime?.unrunnable ? await buildFastRun(repo, repo, m) : undefined;
          const totalMs = performance.now() - t0;
          const bytes = m.tensors.reduce((a, t) => a + t.bytes, 0);
          const mbPerSecond = m.source.bytes / 1e6 / (r.ms / 1000);
          // Initializers under 1 kB (and strings) stay inside the graph file, so the
          // store holds fewer tensors than the model has initializers.
          const inGraph = (await readStoredGraph(graphPath(repo, m.graph.sha256))).initializer.filter(
            (t) => t.dataLocation !== 1,
          ).length;
          const result = {
            ...r,
            repository,
            mbPerSecond,
            embedded: { initializers: inGraph, bytes: m.embeddedBytes },
            totalMs,
            fastRun: fastRun && {
              key: `${fastRun.variant.ortVersion}/${fastRun.variant.target}`,
              built: fastRun.built,
              buildMs: fastRun.variant.buildMs,
              status: fastRun.variant.status,
              reason: fastRun.variant.reason,
            },
          };
          emit(opts, result, (v) =>
            [
              `${r.outcome === 'created' ? 'imported' : 'already present:'} ${m.name}:${m.version}  ${m.tensors.length} tensors, ${formatBytes(bytes)} (${formatBytes(r.bytesAdded)} new) in ${r.ms.toFixed(0)} ms (${mbPerSecond.toFixed(0)} MB/s)`,
              v.embedded.initializers
                ? `${v.embedded.initializers} small initializer${v.embedded.initializers > 1 ? 's' : ''} (${formatBytes(v.embedded.bytes)}) kept inside the graph file, not stored as tensors`
                : '',
              v.fastRun
                ? `fast-run variant for ORT ${v.fastRun.key}: ${v.fastRun.built ? `built in ${v.fastRun.buildMs} ms` : 'already built'}${v.fastRun.status === 'unavailable' ? `, unavailable (${v.fastRun.reason ?? 'no reason recorded'}); opens use fast-open` : ''}`
                : '',
              v.fastRun?.built
                ? `${v.totalMs.toFixed(0)} ms in all, import and fast-run build (${(m.source.bytes / 1e6 / (v.totalMs / 1000)).toFixed(0)} MB/s end to end)`
                : '',
            ]
              .filter(Boolean)
              .join('\n'),
          );
        },
      ),
    );
}
