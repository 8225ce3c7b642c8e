import type { Command } from 'commander';
import { TensorshareError } from '../../errors.js';
import { importModel } from '../../store/import.js';
import { buildFastRunIsolated } from '../../store/runtime-process.js';
import { findFastRun } from '../../store/fast-run.js';
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
          const openableMs = performance.now() - t0;
          const bytes = m.tensors.reduce((a, t) => a + t.bytes, 0);
          const mbPerSecond = m.source.bytes / 1e6 / (r.ms / 1000);
          // Initializers under 1 kB (and strings) stay inside the graph file, so the
          // store holds fewer tensors than the model has initializers.
          const inGraph = (await readStoredGraph(graphPath(repo, m.graph.sha256))).initializer.filter(
            (t) => t.dataLocation !== 1,
          ).length;
          const building = opts.fastRun && !m.runtime?.unrunnable;
          // The model can be opened now: say so before the fast-run build, which runs in a build
          // process (ORT loads and optimizes the model once) while opens use fast-open.
          if (!opts.json)
            console.log(
              [
                `${r.outcome === 'created' ? 'imported' : 'already present:'} ${m.name}:${m.version}  ${m.tensors.length} tensors, ${formatBytes(bytes)} (${formatBytes(r.bytesAdded)} new) in ${r.ms.toFixed(0)} ms (${mbPerSecond.toFixed(0)} MB/s${r.outcome === 'created' ? `; split ${r.phases.split.toFixed(0)} ms, runtime check ${r.phases.check.toFixed(0)} ms, commit ${r.phases.commit.toFixed(0)} ms` : ''})`,
                inGraph
                  ? `${inGraph} small initializer${inGraph > 1 ? 's' : ''} (${formatBytes(m.embeddedBytes)}) kept inside the graph file, not stored as tensors`
                  : '',
                `openable after ${openableMs.toFixed(0)} ms${building ? '; building the fast-run variant in the background' : ''}`,
              ]
                .filter(Boolean)
                .join('\n'),
            );
          const existing = building ? await findFastRun(repo, m.digest) : undefined;
          const fastRun = building
            ? existing
              ? { variant: existing, built: false }
              : await buildFastRunIsolated(repo, repo, m)
            : undefined;
          const totalMs = performance.now() - t0;
          const result = {
            ...r,
            repository,
            mbPerSecond,
            embedded: { initializers: inGraph, bytes: m.embeddedBytes },
            openableMs,
            totalMs,
            fastRun: fastRun && {
              key: `${fastRun.variant.ortVersion}/${fastRun.variant.target}`,
              built: fastRun.built,
              buildMs: fastRun.variant.buildMs,
              readyMs: totalMs,
              status: fastRun.variant.status,
              reason: fastRun.variant.reason,
            },
          };
          if (opts.json) return emit(opts, result, () => '');
          const lines = [
            result.fastRun
              ? `fast-run variant for ORT ${result.fastRun!.key}: ${result.fastRun!.built ? `built in ${result.fastRun!.buildMs} ms` : 'already built'}${result.fastRun!.status === 'unavailable' ? `, unavailable (${result.fastRun!.reason ?? 'no reason recorded'}); opens use fast-open` : ''}`
              : '',
            result.fastRun?.built
              ? `${totalMs.toFixed(0)} ms in all, import and fast-run build (${(m.source.bytes / 1e6 / (totalMs / 1000)).toFixed(0)} MB/s end to end): variant ready after ${totalMs.toFixed(0)} ms`
              : '',
          ].filter(Boolean);
          if (lines.length) console.log(lines.join('\n'));
        },
      ),
    );
}
