// The coldphases section of benchmarks.md and its targets (issue 15): pure
// functions of the results of coldphases.ts.
import { fenceSection, markdownTable } from './report.js';
import type { ColdPhasesResults, InstanceScenario, PhaseRow, PhaseScenario } from './coldphases.js';
import { median } from './stats.js';

export const COLD_TARGETS = {
  /** tensorshare overhead (open -> first result minus a steady run) <= plain's / this. */
  overheadFraction: 20,
  /** first run / steady run. */
  firstOverSteady: 1.2,
  /** ocr: spawn -> first answer, ms. */
  ocrSpawnMs: 150,
  /** ocr: pre-started process handed the function -> first answer, ms. */
  ocrPrestartedMs: 60,
} as const;

const T = COLD_TARGETS;
const n0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
const n1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
/** Median of the finite values (a figure a run did not record is null in its JSON), NaN when none. */
function medianOf<R>(rows: readonly R[], f: (r: R) => number | null | undefined): number {
  const v = rows.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? median(v) : Number.NaN;
}
const m = (rows: readonly PhaseRow[], f: (r: PhaseRow) => number) => medianOf(rows, f);
const mi = (rows: InstanceScenario['rows'], f: (r: InstanceScenario['rows'][number]) => number) => medianOf(rows, f);

function phase(r: ColdPhasesResults, model: string, id: string): PhaseScenario | undefined {
  return r.phases.find((p) => p.model === model && p.id === id);
}

export interface ColdTarget {
  title: string;
  verdict: 'met' | 'missed' | 'not measured';
  measured: string;
}

export function coldPhasesTargets(r: ColdPhasesResults): ColdTarget[] {
  const out: ColdTarget[] = [];
  const plain = phase(r, 'bert', 'plain');
  const plainOverhead = plain ? m(plain.rows, (x) => x.overheadMs) : Number.NaN;
  const ts = r.phases.filter((p) => p.model === 'bert' && !p.id.startsWith('plain') && p.rows.length);
  const byOverhead = [...ts].sort((a, b) => m(a.rows, (x) => x.overheadMs) - m(b.rows, (x) => x.overheadMs));
  const shipping = phase(r, 'bert', 'fast-run');
  const describeOverhead = (p: PhaseScenario | undefined) => {
    if (!p?.rows.length) return 'not measured';
    const o = m(p.rows, (x) => x.overheadMs);
    return `${p.label}: ${n0(o)} ms vs plain ${n0(plainOverhead)} ms (plain / this ${x(plainOverhead / o)}; open ${n0(m(p.rows, (x) => x.openMs))} ms, first run ${n0(m(p.rows, (x) => x.firstMs))} ms, steady ${n0(m(p.rows, (x) => x.steadyMs))} ms)`;
  };
  const overheadVerdict = (p: PhaseScenario | undefined): ColdTarget['verdict'] =>
    !p?.rows.length || !Number.isFinite(plainOverhead)
      ? 'not measured'
      : m(p.rows, (x) => x.overheadMs) <= plainOverhead / T.overheadFraction
        ? 'met'
        : 'missed';
  out.push({
    title: `BERT-base resident cold-start overhead ≤ 1/${T.overheadFraction} of plain ORT's (default mode fast-run)`,
    verdict: overheadVerdict(shipping),
    measured: describeOverhead(shipping),
  });
  out.push({
    title: `… best tensorshare configuration measured`,
    verdict: overheadVerdict(byOverhead[0]),
    measured: describeOverhead(byOverhead[0]),
  });
  const ratio = (p: PhaseScenario) => m(p.rows, (x) => x.firstMs) / m(p.rows, (x) => x.steadyMs);
  const firstVerdict = (p: PhaseScenario | undefined): ColdTarget['verdict'] =>
    !p?.rows.length ? 'not measured' : ratio(p) <= T.firstOverSteady ? 'met' : 'missed';
  const firstText = (p: PhaseScenario | undefined) =>
    p?.rows.length
      ? `${p.label}: first ${n0(m(p.rows, (x) => x.firstMs))} ms / steady ${n0(m(p.rows, (x) => x.steadyMs))} ms = ${x(ratio(p))}; minor faults ${n0(m(p.rows, (x) => x.faults.first))} vs ${n0(m(p.rows, (x) => x.faults.second))}, system time ${n1(m(p.rows, (x) => x.systemMs.first))} vs ${n1(m(p.rows, (x) => x.systemMs.second))} ms`
      : 'not measured';
  const byFirst = [...ts].sort((a, b) => ratio(a) - ratio(b));
  out.push({
    title: `BERT-base first run ≤ ${T.firstOverSteady}× a steady run (default mode fast-run)`,
    verdict: firstVerdict(shipping),
    measured: firstText(shipping),
  });
  // The daemon's default store (hugePages auto) is a huge-page tmpfs wherever the daemon may mount one.
  const onDefaultStore = phase(r, 'bert', 'fast-run-huge');
  out.push({
    title:
      '… default mode on the store as the daemon sets it up by default (`hugePages: auto`: a huge-page tmpfs where it may mount one)',
    verdict: onDefaultStore?.skipped ? 'not measured' : firstVerdict(onDefaultStore),
    measured: onDefaultStore?.skipped ? `skipped: ${onDefaultStore.skipped}` : firstText(onDefaultStore),
  });
  out.push({
    title: '… best tensorshare configuration measured',
    verdict: firstVerdict(byFirst[0]),
    measured: firstText(byFirst[0]),
  });
  const inst = (id: string) => r.instances.find((i) => i.id === id);
  const ocrTarget = (id: string, title: string, limitMs: number, from: string) => {
    const sc = inst(id);
    const ms = sc ? mi(sc.rows, (x) => x.spawnToAnswerMs) : Number.NaN;
    out.push({
      title,
      verdict: !Number.isFinite(ms) ? 'not measured' : ms <= limitMs ? 'met' : 'missed',
      measured: sc?.rows.length
        ? `${n0(ms)} ms (${from} → ready ${n0(mi(sc.rows, (x) => x.spawnToReadyMs))}, ready → answer ${n0(mi(sc.rows, (x) => x.readyToAnswerMs))}; warm answer ${n0(mi(sc.rows, (x) => x.warmAnswerMs))})`
        : (sc?.error ?? 'not measured'),
    });
  };
  const onExecutor = " (`device: cpu-executor`: the daemon's CPU executor runs the models)";
  ocrTarget('ocr-fork', `ocr function: spawn → first answer ≤ ${T.ocrSpawnMs} ms`, T.ocrSpawnMs, 'spawn');
  ocrTarget('ocr-fork-executor', `… on the CPU executor${onExecutor}`, T.ocrSpawnMs, 'spawn');
  ocrTarget(
    'ocr-prestarted',
    `ocr function from a pre-started process: handover → first answer ≤ ${T.ocrPrestartedMs} ms`,
    T.ocrPrestartedMs,
    'handover',
  );
  ocrTarget('ocr-prestarted-executor', `… on the CPU executor${onExecutor}`, T.ocrPrestartedMs, 'handover');
  return out;
}

function phaseTable(r: ColdPhasesResults, model: string): string {
  const plain = phase(r, model, 'plain');
  const plainOverhead = plain ? m(plain.rows, (x) => x.overheadMs) : Number.NaN;
  const rows = r.phases
    .filter((p) => p.model === model)
    .map((p) => {
      if (p.skipped || p.error || !p.rows.length)
        return [p.label, ...Array(13).fill(''), p.skipped ? `skipped: ${p.skipped}` : `error: ${p.error}`];
      const g = (f: (x: PhaseRow) => number) => m(p.rows, f);
      const o = g((x) => x.overheadMs);
      return [
        p.label,
        n0(g((x) => x.spawnMs)),
        n0(g((x) => x.ortImportMs)),
        n0(g((x) => x.clientImportMs)),
        n0(g((x) => x.openMs)),
        n0(g((x) => x.firstMs)),
        n0(g((x) => x.steadyMs)),
        x(g((x) => x.firstMs) / g((x) => x.steadyMs)),
        n0(o),
        p.id === 'plain' ? '1.00×' : x(plainOverhead / o),
        `${n0(g((x) => x.faults.first))} / ${n0(g((x) => x.faults.second))}`,
        `${n1(g((x) => x.systemMs.first))} / ${n1(g((x) => x.systemMs.second))}`,
        n0(g((x) => x.pmdMappedKb) / 1024),
        n0(g((x) => x.spawnToFirstMs)),
        p.rows[0]!.mode,
      ];
    });
  return markdownTable({
    headers: [
      'scenario',
      'spawn',
      'ORT import',
      'client import',
      'open',
      'first run',
      'steady run',
      'first / steady',
      'overhead',
      'plain overhead / this',
      'minor faults 1st / 2nd run',
      'system ms 1st / 2nd run',
      'huge-mapped MiB',
      'spawn → first result',
      'served as',
    ],
    rows,
  });
}

function instanceTable(r: ColdPhasesResults): string {
  return markdownTable({
    headers: [
      'function',
      'process',
      'spawn (handover) → ready',
      'of which: open models',
      'handler import + setup',
      'ready → first answer',
      'spawn (handover) → first answer',
      'request → first answer',
      'warm answer',
    ],
    rows: r.instances.map((i) =>
      i.rows.length
        ? [
            i.fn,
            i.label ?? (i.prestarted ? 'pre-started' : 'forked'),
            n0(mi(i.rows, (x) => x.spawnToReadyMs)),
            n0(mi(i.rows, (x) => x.openMs)),
            n0(mi(i.rows, (x) => x.handlerMs)),
            n0(mi(i.rows, (x) => x.readyToAnswerMs)),
            n0(mi(i.rows, (x) => x.spawnToAnswerMs)),
            n0(mi(i.rows, (x) => x.requestToAnswerMs)),
            n0(mi(i.rows, (x) => x.warmAnswerMs)),
          ]
        : [
            i.fn,
            i.label ?? (i.prestarted ? 'pre-started' : 'forked'),
            '',
            '',
            '',
            '',
            '',
            '',
            `error: ${i.error ?? 'no rows'}`,
          ],
    ),
  });
}

/** The concurrency part: requests per second and latency of N clients, each configuration against in-process sessions. */
function concurrencyTable(r: ColdPhasesResults): string {
  const sc = r.concurrency ?? [];
  const base = sc.find((c) => c.id === 'fast-run');
  const rps = (c: (typeof sc)[number]) => medianOf(c.rows, (x) => x.requestsPerSecond);
  return markdownTable({
    headers: [
      'configuration',
      'clients',
      'runs each',
      'requests/s',
      'vs in-process',
      'p50 ms',
      'p90 ms',
      'repetitions',
    ],
    rows: sc.map((c) =>
      c.error || !c.rows.length
        ? [c.label, String(c.clients), String(c.runsPerClient), '', '', '', '', `error: ${c.error ?? 'no rows'}`]
        : [
            c.label,
            String(c.clients),
            String(c.runsPerClient),
            n1(rps(c)),
            base?.rows.length ? x(rps(c) / rps(base)) : 'n/a',
            n0(medianOf(c.rows, (x) => x.p50Ms)),
            n0(medianOf(c.rows, (x) => x.p90Ms)),
            String(c.rows.length),
          ],
    ),
  });
}

export function coldPhasesSection(r: ColdPhasesResults): string {
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  const parts = [
    '## 3b. Cold start, phase by phase',
    `Run by \`tensorshare bench coldphases${r.quick ? ' --quick' : ''}\` on ${r.cpu}, Linux ${r.kernel}, ${r.startedAt}; load average ${load(r.load.start)} at the start, ${load(r.load.end)} at the end (2 cores shared with other work: read ratios, not absolute times). One fresh process per measurement, ${r.reps} per scenario, scenarios interleaved; medians in ms, batch 1, 1 intra-op thread (the CPU executor's session: the daemon's default \`cpuExecutorThreads\`, the machine's CPUs). *overhead* = open → first result minus one steady run of the same session (for auto: after its switch to fast-run). *spawn*: fork() to the worker's first statement; *ORT import*: \`import('onnxruntime-node')\`; *client import*: tensorshare's open path (plain: nothing) and the inputs (the CPU executor's row: its client too, loaded ahead as its instances do). *CPU executor*: the session is the daemon's (\`--cpu-executor\`, one session per model created once and resident before the measurements); the process opens it in one round trip and runs it through shared memory. Minor page faults (/proc/self/stat) and system CPU time of the first run against the second. Huge-page store: ${r.hugeStore.detail}; *malloc THP*: \`GLIBC_TUNABLES=${'glibc.malloc.hugetlb=1'}\` in the worker.`,
    '### BERT-base-shaped encoder',
    phaseTable(r, 'bert'),
    '### PaddleOCR v4 recognition',
    phaseTable(r, 'ocr-rec'),
    '### What the CPU executor costs under concurrent clients',
    "The BERT model of the first table, batch 1: N client processes open it (warm: one run first), then all run back to back at once; requests per second from the first start to the last end, medians over the repetitions (interleaved). In-process sessions run one per process, one ORT thread each; the CPU executor runs its one session one request, or one batch of concurrent requests (up to the daemon's `gpuMaxBatch`), at a time, on as many ORT threads as `cpuExecutorThreads` gives it (default: the machine's CPUs).",
    concurrencyTable(r),
    '### Instance path (serve runtime, from zero)',
    "A fresh runtime per measurement; the first request to a function at zero instances. *spawn*: the runtime's instance-starting event (fork, or the handover of an idle pre-started process with Node, onnxruntime-node and the open function loaded); *ready*: its instance-ready; *request → first answer* adds the autoscaler's reaction. `ocr`: the bundled function (PaddleOCR detection + recognition, handler) on assets/ocr-word.png; `bert`: a raw tensor function on the BERT-base-shaped model (fast-run). Side by side: pre-started processes without the ORT warm-up (a weightless session created and run at preload); the same functions with `mode: auto` in their config (deploy makes both modes resident; the instance answers from fast-open at once and creates the fast-run session after the first run, on its one JavaScript thread: *warm answer* may include that switch); the same functions with `device: cpu-executor` (a daemon started with `--cpu-executor 50%` owns that store; its CPU executor holds one session per model, resident there before the measurements, and the instance opens them in one round trip each); and, for bert, a store whose fast-run originals the daemon has cut, restored by serve while the instance starts or by the instance inside its open.",
    instanceTable(r),
    '### Targets',
    markdownTable({
      headers: ['target', 'verdict', 'measured'],
      rows: coldPhasesTargets(r).map((t) => [t.title, t.verdict, t.measured]),
    }),
  ];
  return fenceSection('coldphases', parts.join('\n\n'));
}
