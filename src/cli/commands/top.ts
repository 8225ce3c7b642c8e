// `tensorshare top`: resident models, the processes holding them, bytes saved
// by sharing (the daemon's Stats) and, with --url, a gateway's instances and
// request rates (its /metrics sampled over the interval). On a terminal it
// redraws in place every interval, like htop, until Ctrl-C; piped, or with
// --json or --once, it prints one snapshot and exits.
import type { Command } from 'commander';
import { onStopSignals } from '../stop-signals.js';
import { DaemonClient } from '../../client/daemon-client.js';
import { formatBytes } from '../../bytes.js';
import { defaultSocket } from '../../config.js';
import { TensorshareError } from '../../errors.js';
import { roots } from '../context.js';
import { action, table } from '../output.js';
import type { Sample } from '../prometheus-text.js';
import {
  daemonView,
  gatewayView,
  scrapeMetrics,
  type DaemonView,
  type GatewayView,
  type TopSnapshot,
} from '../top-snapshot.js';

interface TopOpts {
  url?: string;
  socket?: string;
  interval: string;
  json?: boolean;
  once?: boolean;
}

// The alternate screen keeps the user's scrollback; home + clear-to-end redraws without flicker.
const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const REDRAW = '\x1b[H';
const CLEAR_REST = '\x1b[J';

export function registerTop(program: Command): void {
  program
    .command('top')
    .description('live view of resident models, instances, memory saved and request rates (one snapshot when piped)')
    .option('--url <url>', "a gateway's base URL: add its functions, instances and request rates from /metrics")
    .option('--socket <path>', "the daemon's socket (default: the store's daemon.sock, env TENSORSHARE_SOCKET)")
    .option('--interval <ms>', 'refresh interval, and the window request rates are measured over', '2000')
    .option('--once', 'print one snapshot and exit, even on a terminal')
    .option('--json', 'print one snapshot as JSON')
    .action(
      action(async (opts: TopOpts, cmd: Command) => {
        const intervalMs = Number(opts.interval);
        if (!Number.isInteger(intervalMs) || intervalMs < 100)
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--interval must be an integer number of milliseconds >= 100, got ${opts.interval}`,
          );
        const url = opts.url ? checkUrl(opts.url) : undefined;
        const socket = opts.socket ?? defaultSocket(process.env, roots(cmd).store);
        // Without a gateway the daemon is the whole view: wait for it as any client would.
        // With one, a daemon that does not answer soon is shown as absent.
        const client = new DaemonClient({ socket, name: 'tensorshare-top', connectTimeoutMs: url ? 1_000 : 5_000 });
        const source = { client, socket, url, daemonRequired: !url };
        try {
          if (opts.json || opts.once || !process.stdout.isTTY) {
            const snap = await snapshot(source, intervalMs, undefined);
            process.stdout.write(opts.json ? `${JSON.stringify(snap.view, null, 2)}\n` : `${render(snap.view)}\n`);
          } else {
            await live(source, intervalMs);
          }
        } finally {
          await client.disconnect();
        }
      }),
    );
}

interface Source {
  client: DaemonClient;
  socket: string;
  url: string | undefined;
  daemonRequired: boolean;
}

function checkUrl(u: string): string {
  try {
    const parsed = new URL(u);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return u;
  } catch {}
  throw new TensorshareError('ERR_INVALID_ARGUMENT', `--url must be an http(s) URL, got ${JSON.stringify(u)}`);
}

/**
 * One view. Rates need two scrapes: `previous` (the last view's) when
 * refreshing, else one now and one after the interval.
 */
async function snapshot(
  s: Source,
  intervalMs: number,
  previous: { samples: Sample[]; at: number } | undefined,
): Promise<{ view: TopSnapshot; samples: Sample[] | undefined; at: number }> {
  let before = previous;
  if (s.url && !before) {
    before = { samples: await scrapeMetrics(s.url), at: performance.now() };
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const [daemon, samples] = await Promise.all([readDaemon(s), s.url ? scrapeMetrics(s.url) : undefined]);
  const at = performance.now();
  const intervalS = before ? (at - before.at) / 1000 : intervalMs / 1000;
  const gateway = s.url && samples && before ? gatewayView(s.url, before.samples, samples, intervalS) : null;
  return { view: { at: new Date().toISOString(), intervalS, daemon, gateway }, samples, at };
}

async function readDaemon(s: Source): Promise<DaemonView | null> {
  try {
    return await daemonView(s.client);
  } catch (e) {
    if (s.daemonRequired)
      throw new TensorshareError(
        'ERR_UNAVAILABLE',
        `no daemon answers on ${s.socket} (${(e as Error).message}); start one with 'tensorshare daemon', pass --socket, or --url for a gateway`,
      );
    return null;
  }
}

async function live(s: Source, intervalMs: number): Promise<void> {
  process.stdout.write(ENTER);
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  onStopSignals(stop);
  try {
    let previous: { samples: Sample[]; at: number } | undefined;
    while (!stopped) {
      const snap = await snapshot(s, intervalMs, previous);
      if (snap.samples) previous = { samples: snap.samples, at: snap.at };
      if (stopped) break;
      process.stdout.write(`${REDRAW}${render(snap.view, process.stdout.columns)}\n${CLEAR_REST}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, intervalMs);
      });
    }
  } finally {
    process.stdout.write(LEAVE);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const rate = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const duration = (s: number) =>
  s >= 86_400
    ? `${Math.floor(s / 86_400)}d`
    : s >= 3_600
      ? `${Math.floor(s / 3_600)}h`
      : s >= 60
        ? `${Math.floor(s / 60)}m`
        : `${Math.floor(s)}s`;

export function render(v: TopSnapshot, columns = Number.POSITIVE_INFINITY): string {
  const lines = [
    `tensorshare top  ${v.at.replace('T', ' ').slice(0, 19)} UTC  (rates over ${v.intervalS.toFixed(1)} s)`,
  ];
  if (v.daemon) lines.push('', ...renderDaemon(v.daemon));
  else lines.push('', 'daemon: not reachable');
  if (v.gateway) lines.push('', ...renderGateway(v.gateway));
  return lines.map((l) => (l.length > columns ? l.slice(0, columns) : l)).join('\n');
}

function renderDaemon(d: DaemonView): string[] {
  const budget = d.budgetBytes > 0 ? ` of ${formatBytes(d.budgetBytes)}` : '';
  const out = [
    `daemon ${d.daemonId.slice(0, 12)}  up ${duration(d.uptimeS)}  policy ${d.policy}  leases ${d.leases}  clients ${d.clients}  evictions ${d.evictions}`,
    `memory resident ${formatBytes(d.usedBytes)}${budget}  saved by sharing ${formatBytes(d.savedBytes)}`,
    '',
  ];
  out.push(
    d.models.length === 0
      ? 'no resident models'
      : table([
          ['MODEL', 'MODE', 'SIZE', 'EXCLUSIVE', 'LEASES', 'PINNED'],
          ...d.models.map((m) => [
            m.model,
            m.mode,
            formatBytes(m.bytes),
            formatBytes(m.exclusiveBytes),
            m.leases,
            m.pinned ? 'yes' : '',
          ]),
        ]),
  );
  if (d.processes.length > 0)
    out.push(
      '',
      table([['PID', 'PROCESS', 'MODELS'], ...d.processes.map((p) => [p.pid, p.name, p.models.join(', ')])]),
    );
  return out;
}

function renderGateway(g: GatewayView): string[] {
  const out = [
    `gateway ${g.url}  ${rate(g.requestsPerS)} req/s  store logical ${formatBytes(g.storeLogicalBytes)} physical ${formatBytes(g.storePhysicalBytes)}  saved by sharing ${formatBytes(g.bytesSavedBySharing)}`,
    '',
  ];
  out.push(
    g.functions.length === 0
      ? 'no functions'
      : table([
          ['FUNCTION', 'INSTANCES', 'REQ/S', 'FAIL/S', 'MEAN MS', 'REQUESTS', 'COLD STARTS'],
          ...g.functions.map((f) => [
            f.name,
            f.instances,
            rate(f.requestsPerS),
            rate(f.failuresPerS),
            f.meanLatencyMs === null ? '-' : f.meanLatencyMs.toFixed(1),
            f.requestsTotal,
            f.coldStarts,
          ]),
        ]),
  );
  return out;
}
