// The daemon's devices status file (<store>/.daemon/devices.json), read by
// the tools (`tensorshare gpu`, `ls`, `inspect`): what is resident on each
// device, with its bytes and pins, as of the daemon's last write (within
// 100 ms of a change). No file: no daemon with devices runs on that store.
import fs from 'node:fs';
import path from 'node:path';
import type { DevicesStatus, ExecutorTier } from './protocol.js';

export const devicesStatusFile = (store: string): string => path.join(store, '.daemon', 'devices.json');
/** The CPU executor's status, in the same shape (one device, index 0). */
export const cpuExecutorStatusFile = (store: string): string => path.join(store, '.daemon', 'cpu-executor.json');

export function readDevicesStatus(store: string, tier: ExecutorTier = 'gpu'): DevicesStatus | undefined {
  try {
    const file = tier === 'cpu' ? cpuExecutorStatusFile(store) : devicesStatusFile(store);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DevicesStatus;
  } catch {
    return undefined;
  }
}

export interface DeviceResidency {
  device: number;
  bytes: number;
  measured: boolean;
  pinned: boolean;
  clients: number;
}

/** Where the model `name:version` is resident, device by device. */
export function residencyOf(status: DevicesStatus | undefined, model: string): DeviceResidency[] {
  const out: DeviceResidency[] = [];
  for (const d of status?.devices ?? [])
    for (const m of d.models)
      if (m.model === model)
        out.push({ device: d.index, bytes: m.bytes, measured: m.measured, pinned: m.pinned, clients: m.clients });
  return out;
}

/** One line for a table cell: `gpu0 662.0 MiB pinned` (the CPU executor: `cpu-executor 412.0 MiB`), `-` when on none. */
export function residencyCell(
  r: readonly DeviceResidency[],
  formatBytes: (n: number) => string,
  tier: ExecutorTier = 'gpu',
): string {
  if (!r.length) return '-';
  const where = (x: DeviceResidency) => (tier === 'cpu' ? 'cpu-executor' : `gpu${x.device}`);
  return r.map((x) => `${where(x)} ${formatBytes(x.bytes)}${x.pinned ? ' pinned' : ''}`).join(', ');
}
