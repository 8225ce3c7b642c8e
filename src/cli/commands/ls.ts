import type { Command } from 'commander';
import { listModels } from '../../store/repository.js';
import { residentModes } from '../../store/materialize.js';
import { fastRunKey } from '../../store/fast-run.js';
import { action, emit, table } from '../output.js';
import { formatBytes } from '../../bytes.js';
import { roots } from '../context.js';
import { readDevicesStatus, residencyCell, residencyOf } from '../../device/devices-status.js';

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list models in the repository, and whether each is resident in the store and on a GPU')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const { repo, storeLayout, store } = roots(cmd);
        const models = await listModels(repo);
        const devices = readDevicesStatus(store);
        const cpuExecutor = readDevicesStatus(store, 'cpu');
        const key = fastRunKey();
        const rows = await Promise.all(
          models.map(async (m) => ({ m, modes: await residentModes(storeLayout, m, key) })),
        ).then((all) =>
          all.map(({ m, modes }) => ({
            name: m.name,
            version: m.version,
            digest: m.digest,
            tensors: m.tensors.length,
            bytes: m.tensors.reduce((a, t) => a + t.bytes, m.graph.bytes),
            defaultMode: m.defaultMode,
            resident: modes.length > 0,
            residentModes: modes,
            gpu: residencyOf(devices, `${m.name}:${m.version}`),
            cpuExecutor: residencyOf(cpuExecutor, `${m.name}:${m.version}`),
            createdAt: m.createdAt,
          })),
        );
        emit(opts, rows, (r) =>
          r.length === 0
            ? `no models in ${repo.root}`
            : table([
                ['MODEL', 'TENSORS', 'SIZE', 'MODE', 'RESIDENT', 'EXECUTOR', 'DIGEST'],
                ...r.map((x) => [
                  `${x.name}:${x.version}`,
                  x.tensors,
                  formatBytes(x.bytes),
                  x.defaultMode,
                  x.resident ? x.residentModes.join(', ') : 'no',
                  [residencyCell(x.gpu, formatBytes), residencyCell(x.cpuExecutor, formatBytes, 'cpu')]
                    .filter((c) => c !== '-')
                    .join(', ') || '-',
                  x.digest.slice(0, 12),
                ]),
              ]),
        );
      }),
    );
}
