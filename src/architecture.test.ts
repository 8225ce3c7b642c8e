// The folder-level dependency graph, derived from the import statements of
// every non-test source file under src/, checked against the allowed
// directions and against the picture in docs/architecture.md.
//
// Adding a folder or an import between folders: add the edge to ALLOWED
// (keep it pointing down: the test fails on a cycle), then paste the block
// this test prints into docs/architecture.md between the graph markers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { packageRoot } from './paths.js';

/**
 * Every import allowed between folders of src/. `base` is the shared modules
 * at the top of src/ (errors, config, paths, trace, ort-version, prng, bytes),
 * which every folder may import; `index` is src/index.ts, the package entry.
 */
const ALLOWED: Record<string, readonly string[]> = {
  index: ['client', 'store'],
  cli: [
    'bench',
    'client',
    'cluster',
    'compat',
    'daemon',
    'device',
    'gen',
    'handlers',
    'placement',
    'plan',
    'proc',
    'sched',
    'serve',
    'sim',
    'store',
    'tensor',
  ],
  serve: ['client', 'device', 'handlers', 'plan', 'sched', 'shm', 'store', 'tensor'],
  // Simulators: the product's own policies on a simulated clock; charts in the benchmark style.
  sim: ['bench', 'daemon', 'gen', 'placement', 'sched', 'serve'],
  // The SLO-aware planner: pure (profiles in, plans out).
  plan: [],
  client: ['daemon', 'device', 'handlers', 'onnx', 'store', 'tensor'],
  daemon: ['device', 'onnx', 'sched', 'store'],
  // The GPU tier's processes and wire: device memory, executor, shared-memory transport, device sessions.
  device: ['sched', 'shm', 'store'],
  store: ['onnx', 'tensor'],
  onnx: [],
  sched: ['tensor'],
  // Tensor bytes between processes through tmpfs segments (instances today, the GPU executor next).
  shm: ['tensor'],
  tensor: [],
  gen: ['onnx', 'tensor'],
  // The compatibility runner (tensorshare compat): imports, opens and compares like a user would.
  compat: ['client', 'gen', 'onnx', 'store', 'tensor'],
  handlers: [],
  proc: [],
  // The Kubernetes manifests' generator and validation (dev-time: its typed models are dev dependencies).
  deploy: [],
  // Tensor-similarity node scoring, pure (the simulator, `tensorshare place` and the extender share it).
  placement: [],
  // The node agent's network API, peer-to-peer warm-up and the kube-scheduler extender (issue 18).
  cluster: ['daemon', 'placement', 'store'],
  // Benchmarks may import anything; only the CLI's benchmark commands import them (BENCH_IMPORTERS).
  bench: [
    'client',
    'device',
    'gen',
    'handlers',
    'onnx',
    'placement',
    'plan',
    'proc',
    'sched',
    'serve',
    'store',
    'tensor',
  ],
  // Test fixtures: imported by tests only (checked below).
  testing: ['bench', 'client', 'cluster', 'onnx', 'proc', 'serve', 'store', 'tensor'],
  base: [],
};

/** The only non-test files outside src/bench that import from it: the commands that run benchmarks. */
const BENCH_IMPORTERS = [
  'src/cli/commands/bench.ts',
  'src/cli/commands/load.ts',
  // plan and sim batch measure the profiles they work from (src/bench/plan-profile.ts).
  'src/cli/commands/profile-source.ts',
];
/** Simulators draw charts and percentiles with the benchmark report's code, and import nothing else of src/bench. */
const CHART_IMPORTERS = 'src/sim/';
const SIM_BENCH_FILES = ['src/bench/charts.ts', 'src/bench/stats.ts'];

const SRC = path.join(packageRoot, 'src');
const DOC = path.join(packageRoot, 'docs', 'architecture.md');
const BEGIN = '<!-- architecture:graph:start -->';
const END = '<!-- architecture:graph:end -->';

function sourceFiles(dir = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The graph node of a file: its top folder under src/, `index` or `base` for files at the top. */
function nodeOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length > 1) return parts[0]!;
  return parts[0] === 'index.ts' ? 'index' : 'base';
}

interface Edge {
  from: string;
  to: string;
  /** Files (relative to the package) that make the edge. */
  files: string[];
}

/** Folder-to-folder imports (static, type-only, re-exports and dynamic import()) of every non-test file. */
function importGraph(): { edges: Map<string, Edge>; importers: Map<string, string[]> } {
  const edges = new Map<string, Edge>();
  /** Target file (relative to the package, .ts) -> the files importing it. */
  const importers = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const rel = path.relative(packageRoot, file);
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: builtins
      const target = path.resolve(path.dirname(file), fileName).replace(/\.js$/, '.ts');
      assert.ok(target.startsWith(SRC + path.sep), `${rel} imports '${fileName}', outside src/`);
      const targetRel = path.relative(packageRoot, target);
      importers.set(targetRel, [...(importers.get(targetRel) ?? []), rel]);
      const from = nodeOf(file);
      const to = nodeOf(target);
      if (from === to) continue;
      const key = `${from} -> ${to}`;
      const e = edges.get(key) ?? { from, to, files: [] };
      if (!e.files.includes(rel)) e.files.push(rel);
      edges.set(key, e);
    }
  }
  return { edges, importers };
}

/** The block docs/architecture.md holds between its markers: a Mermaid picture of the folder edges (edges to `base` left out: every folder may use it). */
function graphBlock(edges: Iterable<Edge>): string {
  const lines = [...edges]
    .filter((e) => e.to !== 'base')
    .map((e) => `  ${e.from} --> ${e.to}`)
    .sort();
  return [BEGIN, '```mermaid', 'graph TD', ...lines, '```', END].join('\n');
}

test('imports between folders go only the allowed ways', () => {
  const { edges } = importGraph();
  assert.ok(edges.size > 10, `found only ${edges.size} edges: is src/ read?`);
  const forbidden = [...edges.values()]
    .filter((e) => e.to !== 'base' && !(ALLOWED[e.from] ?? []).includes(e.to))
    .map((e) => `${e.from} -> ${e.to} (${e.files.join(', ')})`);
  assert.deepEqual(forbidden, [], `imports not in ALLOWED of src/architecture.test.ts:\n${forbidden.join('\n')}`);
  for (const e of edges.values()) assert.ok(e.from in ALLOWED, `folder ${e.from} is not in ALLOWED`);
  const baseImports = [...edges.values()]
    .filter((e) => e.from === 'base')
    .map((e) => `${e.to} (${e.files.join(', ')})`);
  assert.deepEqual(baseImports, [], 'the shared modules at the top of src/ import no folder');
});

/** A path that comes back to where it started, or undefined when the graph has none. */
function findCycle(graph: Record<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const visit = (n: string, trail: string[]): string[] | undefined => {
    if (trail.includes(n)) return [...trail.slice(trail.indexOf(n)), n];
    if (done.has(n)) return undefined;
    for (const m of graph[n] ?? []) {
      const c = visit(m, [...trail, n]);
      if (c) return c;
    }
    done.add(n);
    return undefined;
  };
  for (const n of Object.keys(graph)) {
    const c = visit(n, []);
    if (c) return c;
  }
  return undefined;
}

test('the allowed graph points one way (no cycles)', () => {
  assert.equal(findCycle(ALLOWED)?.join(' -> '), undefined);
  assert.deepEqual(findCycle({ store: ['onnx'], onnx: ['base', 'store'], base: [] }), ['store', 'onnx', 'store']);
});

test('nothing imports bench but the benchmark commands, and nothing but tests imports testing', () => {
  const { importers } = importGraph();
  const into = (folder: string) =>
    [...importers].flatMap(([target, from]) =>
      target.startsWith(`src/${folder}/`) ? from.filter((f) => !f.startsWith(`src/${folder}/`)) : [],
    );
  // Fixtures in src/testing may use bench's types: they are test code (the next assertion keeps them so).
  assert.deepEqual(
    [...new Set(into('bench'))].filter(
      (f) => !BENCH_IMPORTERS.includes(f) && !f.startsWith('src/testing/') && !f.startsWith(CHART_IMPORTERS),
    ),
    [],
  );
  const simBench = [...importers].filter(
    ([target, from]) =>
      target.startsWith('src/bench/') &&
      !SIM_BENCH_FILES.includes(target) &&
      from.some((f) => f.startsWith(CHART_IMPORTERS)),
  );
  assert.deepEqual(simBench, [], 'src/sim imports only charts.ts and stats.ts of src/bench');
  assert.deepEqual([...new Set(into('testing'))], []);
});

test('docs/architecture.md draws exactly the imports of the code', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  assert.ok(i >= 0 && j > i, `${DOC} has no ${BEGIN} .. ${END} block`);
  const expected = graphBlock(importGraph().edges.values());
  assert.equal(
    doc.slice(i, j + END.length),
    expected,
    `replace the graph block of docs/architecture.md with:\n${expected}`,
  );
});

test('every folder under src/ has a README, and docs/architecture.md lists every top folder', () => {
  // `generated/` folders hold generator output; the README of their parent describes them.
  const folders = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'generated')
      .flatMap((e) => [path.join(dir, e.name), ...folders(path.join(dir, e.name))]);
  const missing = folders(SRC)
    .filter((d) => !fs.existsSync(path.join(d, 'README.md')))
    .map((d) => path.relative(packageRoot, d));
  assert.deepEqual(missing, [], 'folders without a README.md');
  const doc = fs.readFileSync(DOC, 'utf8');
  const unlisted = fs
    .readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !doc.includes(`| \`src/${e.name}\` |`))
    .map((e) => e.name);
  assert.deepEqual(unlisted, [], 'top folders missing from the table of docs/architecture.md');
  const unknown = Object.keys(ALLOWED).filter(
    (n) => n !== 'index' && n !== 'base' && !fs.existsSync(path.join(SRC, n)),
  );
  assert.deepEqual(unknown, [], 'ALLOWED names folders that do not exist');
});
