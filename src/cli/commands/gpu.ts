// `tensorshare gpu`: devices (NVML), execution providers, and what the
// daemon holds resident on each device (its <store>/.daemon/devices.json);
// `gpu provision` installs the CUDA provider; `gpu pin|unpin|evict` is model
// control on a device's executor.
import type { Command } from 'commander';
import { formatBytes } from '../../bytes.js';
import { deviceControl } from '../../device/device-session.js';
import { loadNvml } from '../../device/memory.js';
import { bindingFolder, missingCudaProviderFiles } from '../../device/provider.js';
import { readDevicesStatus } from '../../device/devices-status.js';
import { provisionCuda } from '../../device/provision.js';
import { TensorshareError } from '../../errors.js';
import { defaultSocket } from '../../config.js';
import { action, emit, table } from '../output.js';
import { roots } from '../context.js';

function gpus(): { index: number; name: string; usedBytes: number; totalBytes: number; driver: string }[] | string {
  try {
    const n = loadNvml();
    return Array.from({ length: n.count() }, (_, index) => ({
      index,
      name: n.name(index),
      driver: n.driver(),
      ...(({ used, total }) => ({ usedBytes: used, totalBytes: total }))(n.memory(index)),
    }));
  } catch (e) {
    return (e as Error).message;
  }
}

export function registerGpu(program: Command): void {
  const gpu = program
    .command('gpu')
    .description('GPUs, execution providers, and the models resident on each device (the daemon of --store)')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const { store } = roots(cmd);
        const daemon = readDevicesStatus(store);
        const missing = missingCudaProviderFiles();
        const value = {
          devices: gpus(),
          providers: {
            cpu: 'bundled',
            webgpu: 'bundled',
            cuda: missing.length ? `not installed (${missing.join(', ')} missing in ${bindingFolder()})` : 'installed',
          },
          daemon: daemon ?? null,
        };
        emit(opts, value, (v) => {
          const out: string[] = [];
          if (typeof v.devices === 'string') out.push(`GPUs: none (${v.devices})`);
          else
            out.push(
              table([
                ['GPU', 'NAME', 'MEMORY USED', 'TOTAL', 'DRIVER'],
                ...v.devices.map((d) => [
                  d.index,
                  d.name,
                  formatBytes(d.usedBytes),
                  formatBytes(d.totalBytes),
                  d.driver,
                ]),
              ]),
            );
          out.push('', `providers: cpu (bundled), webgpu (bundled), cuda (${v.providers.cuda})`, '');
          if (!v.daemon) out.push(`no device executors (no daemon with devices on ${store})`);
          else
            for (const d of v.daemon.devices) {
              out.push(
                `device ${d.index}: ${d.state}${d.pid ? `, executor pid ${d.pid}` : ''}, ${d.device?.name ?? '?'} (${d.device?.kind ?? '?'}), budget ${formatBytes(d.budgetBytes)}, used ${formatBytes(d.device?.usedBytes ?? 0)} of ${formatBytes(d.device?.totalBytes ?? 0)}, restarts ${d.restarts}, loads ${d.loads}`,
              );
              out.push(
                d.models.length
                  ? table([
                      ['MODEL', 'BYTES', 'MEASURED', 'PERSISTENT', 'EPHEMERAL', 'CLIENTS', 'PINNED', 'QUEUE'],
                      ...d.models.map((m) => [
                        m.model,
                        formatBytes(m.bytes),
                        m.measured ? 'yes' : 'estimate',
                        m.persistentBytes === undefined ? '-' : formatBytes(m.persistentBytes),
                        m.ephemeralBytes === undefined ? '-' : formatBytes(m.ephemeralBytes),
                        m.clients,
                        m.pinned ? 'yes' : 'no',
                        d.queueDepth[m.key] ?? 0,
                      ]),
                    ])
                  : '  (no resident models)',
              );
            }
          return out.join('\n');
        });
      }),
    );
  gpu
    .command('provision')
    .description("install ONNX Runtime's CUDA provider beside onnxruntime-node's binding and check it")
    .requiredOption(
      '--from <folder-or-tarball>',
      'a folder or tarball holding libonnxruntime_providers_cuda.so and _shared.so',
    )
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { from: string; json?: boolean }) => {
        const r = provisionCuda(opts.from);
        emit(opts, r, (v) =>
          [
            ...v.copied.map((c) => `installed ${c.file} (${formatBytes(c.bytes)})`),
            v.check.ok
              ? `check: the CUDA provider loads and runs; outputs match the CPU provider (max |diff| ${v.check.maxAbsDiff?.toExponential(1)}), first session ${v.check.createMs?.toFixed(0)} ms`
              : `check FAILED: ${v.check.error}`,
          ].join('\n'),
        );
        if (!r.check.ok)
          throw new TensorshareError('ERR_UNAVAILABLE', r.check.error ?? 'the CUDA provider check failed');
      }),
    );
  for (const act of ['pin', 'unpin', 'evict'] as const)
    gpu
      .command(act)
      .description(
        act === 'evict'
          ? 'unload a model nothing uses from a device (it stays in the host store)'
          : act === 'pin'
            ? 'load a model onto a device and keep it there until unpinned'
            : 'let a pinned model be evicted again',
      )
      .argument('<model>', 'name[:version]')
      .option('--device <n>', 'device index', '0')
      .option('--socket <path>', 'daemon socket (default: <store>/daemon.sock)')
      .option('--json', 'print JSON')
      .action(
        action(async (model: string, opts: { device: string; socket?: string; json?: boolean }, cmd: Command) => {
          const { store } = roots(cmd);
          const socket = opts.socket ?? defaultSocket({ ...process.env, TENSORSHARE_STORE: store });
          const r = await deviceControl(act, model, {
            daemonSocket: socket,
            device: Number(opts.device),
            token: process.env.TENSORSHARE_TOKEN || undefined,
            connectTimeoutMs: 3000,
          });
          emit(opts, { model, action: act, ...r }, (v) =>
            act === 'evict'
              ? `evicted ${model} from device ${opts.device} (${formatBytes(v.freedBytes ?? 0)} freed)`
              : `${act}ned ${model} on device ${opts.device}`,
          );
        }),
      );
  gpu
    .command('move')
    .description(
      'load a model onto another device from the host store, and unload it from this one if no client has it open there',
    )
    .argument('<model>', 'name[:version]')
    .option('--device <n>', 'device it is on', '0')
    .requiredOption('--to <n>', 'device to move it to')
    .option('--socket <path>', 'daemon socket (default: <store>/daemon.sock)')
    .option('--json', 'print JSON')
    .action(
      action(
        async (model: string, opts: { device: string; to: string; socket?: string; json?: boolean }, cmd: Command) => {
          const { store } = roots(cmd);
          const socket = opts.socket ?? defaultSocket({ ...process.env, TENSORSHARE_STORE: store });
          const to = Number(opts.to);
          if (!(Number.isSafeInteger(to) && to >= 0))
            throw new TensorshareError('ERR_INVALID_ARGUMENT', `--to must be a device index, got '${opts.to}'`);
          const r = await deviceControl('move', model, {
            daemonSocket: socket,
            device: Number(opts.device),
            to,
            token: process.env.TENSORSHARE_TOKEN || undefined,
            connectTimeoutMs: 3000,
          });
          emit(opts, { model, action: 'move', from: Number(opts.device), to, ...r }, (v) =>
            v.unloaded
              ? `moved ${model} from device ${opts.device} to device ${to}`
              : `loaded ${model} on device ${to}; it stays on device ${opts.device} while clients have it open there`,
          );
        },
      ),
    );
}
