// serve's side of the dashboard: where it listens (`--dashboard [HOST:]PORT`),
// and starting it in two steps, because cold starts are recorded from before
// the runtime exists while the rest of the sources come after the gateway.
import type { Logger } from 'pino';
import { TensorshareError } from '../../errors.js';
import type { EventSink } from '../instances/events.js';
import { recordColdStarts } from './cold-starts.js';
import { createCollector, type DashboardSources } from './collect.js';
import { startDashboard, type RunningDashboard } from './server.js';

export type { RunningDashboard } from './server.js';

export interface DashboardFlag {
  /** Default 127.0.0.1: the dashboard shows pids, models and tenants; expose it on purpose. */
  host?: string;
  /** 0: any free port. */
  port: number;
  /** A snapshot this often (default 1000 ms). */
  intervalMs?: number;
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT`; the host defaults to loopback. */
export function parseDashboardFlag(v: string): DashboardFlag {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(v.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--dashboard must be PORT or HOST:PORT (e.g. 8080, 0.0.0.0:8080, [::1]:8080), got '${v}'`,
    );
  const host = m[1] ?? m[2];
  return host === undefined ? { port } : { host, port };
}

export function startDashboardFor(
  flag: DashboardFlag,
  events: { subscribe(l: EventSink): () => void },
): { listen(sources: Omit<DashboardSources, 'coldStarts'> & { logger?: Logger }): Promise<RunningDashboard> } {
  const coldStarts = recordColdStarts(events);
  return {
    async listen({ logger, ...sources }) {
      try {
        const running = await startDashboard({
          collector: createCollector({ ...sources, coldStarts }),
          host: flag.host,
          port: flag.port,
          intervalMs: flag.intervalMs,
          logger,
        });
        return {
          ...running,
          async close() {
            await running.close();
            coldStarts.close();
          },
        };
      } catch (e) {
        coldStarts.close();
        throw e;
      }
    },
  };
}
