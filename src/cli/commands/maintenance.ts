import type { Command } from 'commander';
import { du, gc, removeModel, verify } from '../../store/maintenance.js';
import { action, emit, progressBar, table } from '../output.js';
import { formatBytes } from '../../bytes.js';
import { roots } from '../context.js';

export function registerMaintenance(program: Command): void {
  program
    .command('rm')
    .description(
      'remove a model version (or every version of a name) from the repository and the store; run gc to free space',
    )
    .argument('<name[:version]>')
    .option('--json', 'print JSON')
    .action(
      action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
        const { repo, storeLayout } = roots(cmd);
        const removed = await removeModel(repo, ref);
        await removeModel(storeLayout, ref).catch(() => []); // the store is a cache; it may not hold the model
        emit(opts, { removed: removed.map((m) => `${m.name}:${m.version}`) }, (r) => `removed ${r.removed.join(', ')}`);
      }),
    );

  program
    .command('gc')
    .description('delete tensors and graphs that no model references, in the repository and the store')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const { repo, storeLayout } = roots(cmd);
        const result = { repository: await gc(repo), store: await gc(storeLayout) };
        emit(
          opts,
          result,
          (r) =>
            `repository: removed ${r.repository.filesRemoved} files (${formatBytes(r.repository.bytesFreed)})\nstore: removed ${r.store.filesRemoved} files (${formatBytes(r.store.bytesFreed)})`,
        );
      }),
    );

  program
    .command('du')
    .description('disk usage: logical bytes (separate copies) vs physical bytes (deduplicated), per model and total')
    .option('--in-store', 'report on the store (tmpfs) instead of the repository')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean; inStore?: boolean }, cmd: Command) => {
        const r = roots(cmd);
        const usage = await du(opts.inStore ? r.storeLayout : r.repo);
        emit(opts, usage, (u) =>
          [
            table([
              ['MODEL', 'LOGICAL', 'UNIQUE', 'EXCLUSIVE', 'SHARED', 'TENSORS'],
              ...u.models.map((m) => [
                m.ref,
                formatBytes(m.logicalBytes),
                formatBytes(m.uniqueBytes),
                formatBytes(m.exclusiveBytes),
                formatBytes(m.sharedBytes),
                m.tensors,
              ]),
            ]),
            '',
            `total logical ${formatBytes(u.logicalBytes)}, physical ${formatBytes(u.physicalBytes)}, dedup ratio ${u.dedupRatio.toFixed(2)}x  (${u.root})`,
            `fast-run variants add ${formatBytes(u.variantBytes)}; unreferenced (gc frees) ${formatBytes(u.unreferencedBytes)}`,
          ]
            .filter(Boolean)
            .join('\n'),
        );
      }),
    );

  program
    .command('verify')
    .description('re-hash every tensor and graph, check every manifest, report corruption')
    .option('--in-store', 'verify the store (tmpfs) instead of the repository')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean; inStore?: boolean }, cmd: Command) => {
        const r = roots(cmd);
        const bar = progressBar(opts, 'verify');
        const result = await verify(opts.inStore ? r.storeLayout : r.repo, bar.update).finally(bar.stop);
        emit(opts, result, (v) =>
          v.problems.length === 0
            ? `ok: ${v.filesChecked} files, ${formatBytes(v.bytesChecked)} verified in ${v.root}`
            : [
                `${v.problems.length} problem(s) in ${v.root}:`,
                ...v.problems.map(
                  (p) =>
                    `  ${p.kind}: ${p.file}: ${p.detail}${p.models.length ? ` (used by ${p.models.join(', ')})` : ''}`,
                ),
              ].join('\n'),
        );
        if (result.problems.length) process.exitCode = 1;
      }),
    );
}
