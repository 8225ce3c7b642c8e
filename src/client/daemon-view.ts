// The daemon's Stats as plain data for the views that show it (`tensorshare
// top`, serve's dashboard): resident models, leases, the processes holding
// them, bytes saved by sharing, budget and evictions.
import type { DaemonClient } from './daemon-client.js';

export interface DaemonView {
  daemonId: string;
  uptimeS: number;
  policy: string;
  budgetBytes: number;
  /** Physical bytes of the resident files. */
  usedBytes: number;
  /** What the leased models would take as private copies, minus what they take shared. */
  savedBytes: number;
  leases: number;
  clients: number;
  evictions: number;
  evictedBytes: number;
  /** Resident models, largest first. */
  models: { model: string; mode: string; bytes: number; exclusiveBytes: number; leases: number; pinned: boolean }[];
  /** Processes holding leases, with the models each holds. */
  processes: { pid: number; name: string; models: string[] }[];
}

export async function daemonView(client: DaemonClient): Promise<DaemonView> {
  const s = await client.stats();
  const t = s.totals;
  const processes = new Map<number, { pid: number; name: string; models: string[] }>();
  for (const l of s.leases) {
    const p = processes.get(l.pid) ?? { pid: l.pid, name: l.clientName, models: [] };
    if (!p.models.includes(l.model)) p.models.push(l.model);
    processes.set(l.pid, p);
  }
  return {
    daemonId: t.daemonId,
    uptimeS: t.uptimeS,
    policy: t.policy,
    budgetBytes: Number(t.budgetBytes),
    usedBytes: Number(t.usedBytes),
    savedBytes: Math.max(0, Number(t.leasedLogicalBytes) - Number(t.referencedBytes)),
    leases: t.leases,
    clients: t.clients,
    evictions: Number(t.evictions),
    evictedBytes: Number(t.evictedBytes),
    models: s.models
      .filter((m) => m.resident)
      .map((m) => ({
        model: m.model,
        mode: m.mode,
        bytes: Number(m.bytes),
        exclusiveBytes: Number(m.exclusiveBytes),
        leases: m.references - (m.pinned ? 1 : 0),
        pinned: m.pinned,
      }))
      .sort((a, b) => b.bytes - a.bytes || a.model.localeCompare(b.model)),
    processes: [...processes.values()].sort((a, b) => a.pid - b.pid),
  };
}
