// The hostile-input benchmark: a real `tensorshare serve` (bundled functions,
// its own daemon, HTTP and gRPC) receives each attack of attacks.ts from a
// process of its own while this process polls `/v2/health/ready` back to back.
// Per attack: how it was answered, health latency while it was in flight, and
// the gateway's RSS before, right after, and once it settles.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../paths.js';
import { machineInfo, type MachineInfo } from '../machine.js';
import { startServeProcess } from '../serve-process.js';
import { max, median, percentile } from '../stats.js';
import { ATTACKS, type Answer } from './attacks.js';
import { probeHealth } from './bodies.js';

/** Issue 11's bound: health answers within this while any attack is in flight. */
export const HEALTH_BOUND_MS = 100;
/** The gateway's memory counts as back when its RSS is within this of where it was before the attack. */
export const RSS_SLACK_MIB = 32;
/** How long memory may take to come back. */
const SETTLE_MS = 10_000;
/** serve's request timeout in this benchmark (the slow upload waits for it). */
const REQUEST_TIMEOUT_MS = 5000;

export interface AttackResult {
  id: string;
  what: string;
  answer?: Answer;
  /** The attack itself failed (no answer at all). */
  error?: string;
  ms: number;
  health: { n: number; p50: number; p99: number; max: number; allOk: boolean };
  rssMiB: { before: number; after: number; settled: number; settleMs: number };
}

export interface HostileResults {
  format: 1;
  startedAt: string;
  quick: boolean;
  machine: MachineInfo;
  loadavg: { before: number[]; after: number[] };
  attacks: AttackResult[];
  verdicts: { health: boolean; noServerErrors: boolean; memoryBack: boolean };
}

const ATTACKER = new URL('./attacker.js', import.meta.url);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

function attack(id: string, http: string, grpc: string): Promise<Answer | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ATTACKER.pathname, id, http, grpc], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
    });
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as Answer | { error: string });
      } catch {
        resolve({ error: `attacker exited with code ${code}: ${err.slice(-300)}` });
      }
    });
  });
}

export async function runHostileBench(o: { quick: boolean; log: (line: string) => void }): Promise<HostileResults> {
  const startedAt = new Date().toISOString();
  const before = os.loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorshare-hostile-'));
  const store = fs.mkdtempSync(path.join('/dev/shm', 'tensorshare-hostile-'));
  const results: AttackResult[] = [];
  try {
    const server = await startServeProcess({
      repository: path.join(dir, 'repository'),
      store,
      functionsDir: path.join(packageRoot, 'functions'),
      bundled: true,
      grpc: true,
      daemon: 'auto',
      extraArgs: ['--request-timeout-ms', String(REQUEST_TIMEOUT_MS)],
    });
    try {
      for (const a of ATTACKS.filter((x) => !o.quick || x.quick)) {
        const rssBefore = rssMiB(server.pid);
        const probe = probeHealth(server.url);
        const t0 = performance.now();
        const answer = await attack(a.id, server.url, server.grpcAddress!);
        const ms = performance.now() - t0;
        const { latencies, allOk } = await probe.stop();
        const after = rssMiB(server.pid);
        const s0 = performance.now();
        let settled = after;
        while (settled > rssBefore + RSS_SLACK_MIB && performance.now() - s0 < SETTLE_MS) {
          await new Promise((r) => setTimeout(r, 250));
          settled = rssMiB(server.pid);
        }
        const r: AttackResult = {
          id: a.id,
          what: a.what,
          ...('error' in answer ? { error: answer.error } : { answer }),
          ms,
          health: {
            n: latencies.length,
            p50: median(latencies),
            p99: percentile(latencies, 99),
            max: max(latencies),
            allOk,
          },
          rssMiB: { before: rssBefore, after, settled, settleMs: performance.now() - s0 },
        };
        results.push(r);
        o.log(
          `${a.id}: ${r.error ?? `${r.answer!.status} ${r.answer!.detail.slice(0, 80)}`} | health max ${r.health.max.toFixed(1)} ms (n=${r.health.n}) | RSS ${rssBefore.toFixed(0)} -> ${after.toFixed(0)} -> ${settled.toFixed(0)} MiB`,
        );
      }
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(store, { recursive: true, force: true });
  }
  return {
    format: 1,
    startedAt,
    quick: o.quick,
    machine: machineInfo({ probeDropCaches: false }),
    loadavg: { before, after: os.loadavg() },
    attacks: results,
    verdicts: {
      health: results.every((r) => r.health.allOk && r.health.max <= HEALTH_BOUND_MS),
      noServerErrors: results.every((r) => !r.error && !r.answer!.serverError),
      memoryBack: results.every((r) => r.rssMiB.settled <= r.rssMiB.before + RSS_SLACK_MIB),
    },
  };
}
