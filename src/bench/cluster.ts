// The cluster benchmark (issue 18): `tensorshare bench cluster [--quick]
// [--rounds n] [--out docs]` (results in <out>/bench/cluster.json, the
// `cluster` section of <out>/benchmarks.md), or standalone:
//   node dist/src/bench/cluster.js [--quick] [--rounds n] [--out docs/bench/cluster.json]
// Part 1, warm-up: a fresh node makes BERT-base resident (the Open that
// precedes its first result) from its durable repository on disk, from one
// peer, and from two peers, round-robin in one run; bytes moved and time
// from the daemon's own log. Part 2, placement: fine-tuned variants placed by
// tensor similarity (src/placement's scorer, as the extender ranks) against
// least-loaded placement: bytes loaded and memory used.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { bert, BERT_TINY } from '../gen/bert.js';
import type { ModelSpec } from '../gen/spec.js';
import { fineTuned } from '../gen/variants.js';
import { writeModel } from '../gen/writer.js';
import { packageRoot } from '../paths.js';
import { rankNodes, scoreNode, type ModelTensors, type NodeHoldings } from '../placement/scorer.js';
import { importModel } from '../store/import.js';
import { uniqueTensors } from '../store/manifest.js';
import { fenceSection, writeResultsJson, writeSectionMarkdown } from './report.js';

const BIN = path.join(packageRoot, 'bin', 'tensorshare.js');
const TOKEN = 'bench-cluster-token-0123456789';
type Source = 'repository' | 'one peer' | 'two peers';

interface Node {
  proc: ChildProcess;
  socket: string;
  agent: string;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** `tensorshare daemon` with its agent on loopback; ready when the agent listens. */
async function startNode(dir: string, name: string, repository: string, peers: string[]): Promise<Node> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TENSORSHARE_')));
  const args = [BIN, 'daemon', '--repository', repository, '--store', path.join('/dev/shm', path.basename(dir), name)];
  args.push('--agent-listen', '127.0.0.1:0', '--cluster-token-file', path.join(dir, 'token'), '--node-name', name);
  args.push('--gpus', 'none', '--peer-idle-timeout', '30s', '--peer-min-rate', '1MiB');
  if (peers.length) args.push('--peers', peers.join(','));
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  let ready: (agent: string) => void;
  const up = new Promise<string>((r) => {
    ready = r;
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const l = JSON.parse(line) as Record<string, unknown>;
        logs.push(l);
        if (l.msg === 'agent listening') ready(l.agent as string);
      } catch {}
    }
  });
  const exited = new Promise<never>((_, rej) =>
    proc.once('exit', (c) => rej(new Error(`daemon ${name} exited (${c})`))),
  );
  const agent = await Promise.race([up, exited]);
  exited.catch(() => {});
  const socket = (logs.find((l) => l.msg === 'listening')?.socket as string) ?? '';
  return {
    proc,
    socket,
    agent,
    logs,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}

async function openMs(n: Node, model: string): Promise<number> {
  const c = new DaemonClient({ env: {}, socket: n.socket, name: 'bench-cluster' });
  try {
    const t0 = performance.now();
    await c.open(model);
    return performance.now() - t0;
  } finally {
    await c.disconnect();
  }
}

async function thinCopy(from: string, to: string): Promise<void> {
  await fs.mkdir(path.join(to, 'tensors'), { recursive: true });
  for (const sub of ['models', 'graphs']) await fs.cp(path.join(from, sub), path.join(to, sub), { recursive: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : 0;
};

async function warmUpPart(dir: string, quick: boolean, rounds: number) {
  const spec = quick ? bert(BERT_TINY) : bert();
  const file = path.join(dir, 'bert.onnx');
  await writeModel(spec, file);
  const repo = path.join(dir, 'repo');
  const m = (await importModel(repo, file, { name: 'bert' })).manifest;
  await fs.rm(file, { force: true });
  const modelBytes = uniqueTensors(m.tensors).reduce((a, t) => a + t.bytes, 0);
  const thin = path.join(dir, 'repo-thin');
  await thinCopy(repo, thin);
  const a = await startNode(dir, 'peer-a', repo, []);
  const b = await startNode(dir, 'peer-b', repo, []);
  await openMs(a, 'bert');
  await openMs(b, 'bert');
  const runs: {
    source: Source;
    round: number;
    ms: number;
    bytesFromPeers: number;
    bytesFromRepository: number;
    byPeer: unknown;
  }[] = [];
  let seq = 0;
  for (let round = 0; round < rounds; round++) {
    for (const source of ['repository', 'one peer', 'two peers'] as Source[]) {
      const peers = source === 'repository' ? [] : source === 'one peer' ? [a.agent] : [a.agent, b.agent];
      const fresh = await startNode(dir, `fresh-${seq++}`, source === 'repository' ? repo : thin, peers);
      try {
        const ms = await openMs(fresh, 'bert');
        const w = fresh.logs.find((l) => l.msg === 'warm-up');
        const fromPeers = Number(w?.bytesFromPeers ?? 0);
        runs.push({
          source,
          round,
          ms,
          bytesFromPeers: fromPeers,
          bytesFromRepository: modelBytes - fromPeers,
          byPeer: w?.bytesByPeer ?? {},
        });
        process.stderr.write(`warm-up ${source} round ${round}: ${ms.toFixed(0)} ms\n`);
      } finally {
        await fresh.stop();
      }
    }
  }
  await a.stop();
  await b.stop();
  const by = (s: Source) => runs.filter((r) => r.source === s);
  const summary = (['repository', 'one peer', 'two peers'] as Source[]).map((s) => ({
    source: s,
    medianMs: Math.round(median(by(s).map((r) => r.ms))),
    bytesFromPeers: by(s)[0]?.bytesFromPeers ?? 0,
    bytesFromRepository: by(s)[0]?.bytesFromRepository ?? 0,
    mbPerS: Math.round((modelBytes / 2 ** 20 / (median(by(s).map((r) => r.ms)) / 1000)) * 10) / 10,
  }));
  return { model: spec.name, modelBytes, tensors: uniqueTensors(m.tensors).length, runs, summary };
}

const ELEM: Record<number, number> = { 1: 4, 6: 4, 7: 8, 10: 2, 11: 8 };

/** A generated model's tensors by content identity: the generator's bytes are a function of (name, dims, fill, salt). */
function tensorsOf(spec: ModelSpec): ModelTensors {
  const seen = new Map<string, number>();
  for (const t of spec.initializers) {
    const id = createHash('sha256')
      .update(JSON.stringify([spec.seed, t.name, t.dims, t.fill, t.salt ?? '', t.dataType]))
      .digest('hex');
    seen.set(id, t.dims.reduce((a, d) => a * d, 1) * (ELEM[t.dataType] ?? 4));
  }
  return { model: spec.name, tensors: [...seen].map(([hash, bytes]) => ({ hash, bytes })) };
}

/** Pure (no bytes generated), so BERT-base even under --quick. */
function placementPart() {
  const base = bert();
  const other = { ...bert(), seed: base.seed + 101, name: 'other' };
  const variants = fineTuned(base, { variants: 6, diffLayers: 2 });
  const baseT = tensorsOf(base);
  const size = baseT.tensors.reduce((a, t) => a + t.bytes, 0);
  const nodeCount = 4;
  const budget = Math.round(size * 2.5);
  const run = (policy: 'tensor-similarity' | 'least-loaded') => {
    const held = Array.from({ length: nodeCount }, () => new Map<string, number>());
    const put = (i: number, m: ModelTensors) => {
      for (const t of m.tensors) held[i]!.set(t.hash, t.bytes);
    };
    // The starting cluster: the base resident on node 0, an unrelated model on node 1.
    put(0, baseT);
    put(1, tensorsOf(other as ModelSpec));
    const used = (i: number) => [...held[i]!.values()].reduce((a, b) => a + b, 0);
    const holdings = (): NodeHoldings[] =>
      held.map((h, i) => ({
        node: `node-${i}`,
        freeBytes: budget - used(i),
        hasResident: (x) => h.has(x),
        hasInRepository: () => true,
      }));
    let loaded = 0;
    let unplaced = 0;
    const placed: string[] = [];
    for (const v of variants) {
      const m = tensorsOf(v);
      const hs = holdings();
      let pick: string | undefined;
      if (policy === 'tensor-similarity') pick = rankNodes(m, hs)[0]?.node;
      else {
        const fits = hs.filter((h) => scoreNode(m, h).fits).sort((x, y) => y.freeBytes - x.freeBytes);
        pick = fits[0]?.node;
      }
      if (!pick) {
        unplaced++;
        placed.push('-');
        continue;
      }
      const i = Number(pick.slice(5));
      loaded += scoreNode(m, hs[i]!).needBytes;
      put(i, m);
      placed.push(pick);
    }
    const memory = held.reduce((a, _h, i) => a + used(i), 0);
    return { policy, bytesLoaded: loaded, memoryUsed: memory, unplaced, placed };
  };
  const sim = run('tensor-similarity');
  const least = run('least-loaded');
  return {
    model: base.name,
    modelBytes: size,
    variants: variants.length,
    diffLayers: 2,
    nodes: nodeCount,
    budgetPerNode: budget,
    results: [sim, least],
    bytesLoadedRatio: least.bytesLoaded ? sim.bytesLoaded / least.bytesLoaded : 0,
    memoryRatio: least.memoryUsed ? sim.memoryUsed / least.memoryUsed : 0,
  };
}

const MB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export function clusterMarkdown(r: Awaited<ReturnType<typeof runClusterBench>>): string {
  const w = r.warmUp;
  const repo = w.summary[0]!;
  const lines = [
    `Machine: ${r.machine.cpus} CPUs, load ${r.machine.load.join(' / ')} at start; warm-up on ${r.quick ? 'BERT-tiny (--quick)' : 'BERT-base'}, ${r.rounds} round(s) each, round-robin.`,
    '',
    `**Warm-up of a fresh node** (${w.model}, ${w.tensors} tensors, ${MB(w.modelBytes)}): time of the first Open (model made resident), median.`,
    '',
    '| source | median ms | MiB/s | from peers | from repository | vs repository |',
    '|---|---|---|---|---|---|',
    ...w.summary.map(
      (s) =>
        `| ${s.source} | ${s.medianMs} | ${s.mbPerS} | ${MB(s.bytesFromPeers)} | ${MB(s.bytesFromRepository)} | ${(s.medianMs / (repo.medianMs || 1)).toFixed(2)}x |`,
    ),
    '',
    `**Placement** of ${r.placement.variants} fine-tuned variants (last ${r.placement.diffLayers} layers differ) on ${r.placement.nodes} nodes of ${MB(r.placement.budgetPerNode)} budget; the base resident on node-0, an unrelated model on node-1.`,
    '',
    '| policy | bytes loaded | memory used | unplaced | nodes chosen |',
    '|---|---|---|---|---|',
    ...r.placement.results.map(
      (p) => `| ${p.policy} | ${MB(p.bytesLoaded)} | ${MB(p.memoryUsed)} | ${p.unplaced} | ${p.placed.join(', ')} |`,
    ),
    '',
    `Verdicts: ${r.verdicts.join('; ')}.`,
  ];
  return lines.join('\n');
}

export async function runClusterBench(o: { quick: boolean; rounds: number }) {
  const machine = { cpus: os.cpus().length, load: os.loadavg().map((x) => Math.round(x * 10) / 10) };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-bench-cluster-'));
  await fs.writeFile(path.join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  try {
    const warmUp = await warmUpPart(dir, o.quick, o.rounds);
    const placement = placementPart();
    const [repo, one, two] = warmUp.summary;
    const verdicts = [
      `one peer ${(one!.medianMs / repo!.medianMs).toFixed(2)}x the repository's time (${one!.medianMs < repo!.medianMs ? 'faster' : 'not faster: the repository is a local disk, page-cached here'})`,
      `two peers ${(two!.medianMs / one!.medianMs).toFixed(2)}x one peer's time (${two!.medianMs < one!.medianMs ? 'faster' : 'not faster on one shared CPU'})`,
      `tensor-similarity placement loads ${(placement.bytesLoadedRatio * 100).toFixed(0)}% of the bytes and uses ${(placement.memoryRatio * 100).toFixed(0)}% of the memory of least-loaded (${placement.bytesLoadedRatio < 1 && placement.memoryRatio < 1 ? 'met' : 'not met'})`,
    ];
    return { suite: 'cluster', quick: o.quick, rounds: o.rounds, machine, warmUp, placement, verdicts };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(path.join('/dev/shm', path.basename(dir)), { recursive: true, force: true });
  }
}

export const CLUSTER_SECTION_ID = 'cluster';

/** The report section, fenced for docs/benchmarks.md. */
export function clusterSection(r: Awaited<ReturnType<typeof runClusterBench>>, command: string): string {
  return fenceSection(
    CLUSTER_SECTION_ID,
    [
      '## Cluster: peer warm-up and tensor-similarity placement (issue 18)',
      '',
      `\`${command}\`; results in \`bench/cluster.json\`.`,
      '',
      clusterMarkdown(r),
    ].join('\n'),
  );
}

/**
 * `tensorshare bench cluster`: runs the benchmark (or, with `from`, re-renders
 * a saved bench/cluster.json), writes <out>/bench/cluster.json and the
 * `cluster` section of <out>/benchmarks.md.
 */
export async function benchCluster(o: { quick: boolean; rounds?: number; out: string; from?: string }) {
  const r = o.from
    ? (JSON.parse(await fs.readFile(o.from, 'utf8')) as Awaited<ReturnType<typeof runClusterBench>>)
    : await runClusterBench({ quick: o.quick, rounds: o.rounds ?? (o.quick ? 1 : 3) });
  if (r?.suite !== 'cluster') throw new Error(`${o.from}: not the results of bench cluster`);
  const command = ['tensorshare bench cluster', r.quick ? '--quick' : '', `--rounds ${r.rounds}`]
    .filter(Boolean)
    .join(' ');
  if (!o.from) writeResultsJson(path.join(o.out, 'bench', 'cluster.json'), r);
  const md = clusterSection(r, command);
  writeSectionMarkdown(path.join(o.out, 'benchmarks.md'), CLUSTER_SECTION_ID, md);
  process.stdout.write(`${md}\nreport: ${path.join(o.out, 'benchmarks.md')}\n`);
  return r;
}

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const rounds = Number(at('--rounds') ?? (quick ? 1 : 3));
  const r = await runClusterBench({ quick, rounds });
  const out = at('--out');
  if (out) await fs.writeFile(out, `${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(`${clusterMarkdown(r)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
