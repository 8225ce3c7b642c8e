// Benchmark reports: raw results as JSON, and markdown sections that several
// suites place in one document (docs/benchmarks.md). Each section is fenced by
// HTML comments carrying its id, so re-running a suite replaces its own
// section and leaves the others alone.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import type { MachineInfo } from './machine.js';

export type Align = 'left' | 'right' | 'center';

export interface Table {
  caption?: string;
  headers: readonly string[];
  rows: readonly (readonly (string | number)[])[];
  /** Per column; default: right for columns whose cells are all numbers, else left. */
  align?: readonly Align[];
}

export interface ChartLink {
  title: string;
  /** Image path relative to the markdown document. */
  file: string;
}

export interface ReportSection {
  /** Stable id: letters, digits, '-', '_' (e.g. "density"). */
  id: string;
  title: string;
  intro?: string;
  machine?: MachineInfo;
  tables?: readonly Table[];
  charts?: readonly ChartLink[];
  notes?: readonly string[];
}

function cell(v: string | number): string {
  return String(v).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function markdownTable(t: Table): string {
  const n = t.headers.length;
  for (const r of t.rows) {
    if (r.length !== n)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `table row has ${r.length} cells for ${n} headers: ${JSON.stringify(r)}`,
      );
  }
  const align = t.headers.map(
    (_, i) => t.align?.[i] ?? (t.rows.length > 0 && t.rows.every((r) => typeof r[i] === 'number') ? 'right' : 'left'),
  );
  const rule = align.map((a) => (a === 'right' ? '---:' : a === 'center' ? ':---:' : '---'));
  const lines = [
    `| ${t.headers.map(cell).join(' | ')} |`,
    `| ${rule.join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  return (t.caption ? `${t.caption}\n\n` : '') + lines.join('\n');
}

const GiB = 2 ** 30;

/** Two-column table of the machine facts that matter for reading the numbers. */
export function machineTable(m: MachineInfo): Table {
  return {
    headers: ['machine', ''],
    rows: [
      ['CPU', `${m.cpuModel} (${m.physicalCores} cores, ${m.logicalCores} threads)`],
      ['ISA', m.isa.join(' ') || 'n/a'],
      [
        'memory',
        `${(m.memTotalBytes / GiB).toFixed(1)} GiB total, ${(m.memAvailableBytes / GiB).toFixed(1)} GiB available` +
          (m.cgroupMemoryLimitBytes !== null
            ? `, cgroup limit ${(m.cgroupMemoryLimitBytes / GiB).toFixed(1)} GiB`
            : ''),
      ],
      ['kernel', `${m.os} ${m.kernel} ${m.arch}`],
      ['Node / onnxruntime-node', `${m.node} / ${m.onnxruntimeNode ?? 'not installed'}`],
      [
        'drop page caches',
        m.dropCaches.works === true
          ? 'yes'
          : m.dropCaches.works === null
            ? m.dropCaches.writable
              ? 'writable, untried'
              : 'no'
            : 'no',
      ],
    ],
    align: ['left', 'left'],
  };
}

const ID = /^[A-Za-z0-9_-]+$/;
const startMarker = (id: string) => `<!-- bench:${id}:start -->`;
const endMarker = (id: string) => `<!-- bench:${id}:end -->`;

function checkId(id: string): void {
  if (!ID.test(id)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `report section id "${id}" must match ${ID}`);
}

/** Markdown of one section, fenced by its markers. */
export function renderSection(s: ReportSection): string {
  checkId(s.id);
  const parts = [startMarker(s.id), `## ${s.title}`];
  if (s.intro) parts.push(s.intro.trim());
  if (s.machine) parts.push(markdownTable(machineTable(s.machine)));
  for (const t of s.tables ?? []) parts.push(markdownTable(t));
  for (const c of s.charts ?? [])
    parts.push(`![${c.title.replace(/[[\]]/g, '')}](${encodeURI(c.file.split(path.sep).join('/'))})`);
  if (s.notes?.length) parts.push(s.notes.map((n) => `- ${n}`).join('\n'));
  parts.push(endMarker(s.id));
  return `${parts.join('\n\n')}\n`;
}

/** Markdown written elsewhere (e.g. the scheduling benchmark's section), fenced by the markers of section `id`. */
export function fenceSection(id: string, body: string): string {
  checkId(id);
  return `${startMarker(id)}\n${body.trimEnd()}\n${endMarker(id)}\n`;
}

/** Replaces section `id` in `doc` (by its markers) or appends it. */
export function upsertSection(doc: string, id: string, sectionMarkdown: string): string {
  const a = doc.indexOf(startMarker(id));
  const end = endMarker(id);
  const b = doc.indexOf(end);
  const body = sectionMarkdown.endsWith('\n') ? sectionMarkdown : `${sectionMarkdown}\n`;
  if (a >= 0 && b > a) {
    let after = b + end.length;
    if (doc[after] === '\n') after++;
    return doc.slice(0, a) + body + doc.slice(after);
  }
  const sep = doc === '' ? '' : doc.endsWith('\n\n') ? '' : doc.endsWith('\n') ? '\n' : '\n\n';
  return doc + sep + body;
}

/** `doc` with every fenced section of `previous` that it lacks appended: a writer of the whole document keeps the sections other commands wrote (bench-sched's). */
export function keepSections(previous: string, doc: string): string {
  let out = doc;
  for (const m of previous.matchAll(/<!-- bench:([A-Za-z0-9_-]+):start -->/g)) {
    const id = m[1]!;
    const end = previous.indexOf(endMarker(id), m.index);
    if (end < 0 || out.includes(startMarker(id))) continue;
    out = upsertSection(out, id, `${previous.slice(m.index, end + endMarker(id).length)}\n`);
  }
  return out;
}

/** Writes `section` into the markdown file `docPath` (created with a "# Benchmarks" heading if missing). */
export function writeSection(docPath: string, section: ReportSection): void {
  writeSectionMarkdown(docPath, section.id, renderSection(section));
}

/** Writes `sectionMarkdown` (fenced by the markers of `id`) into `docPath`, replacing that section or appending it; every other line stays. */
export function writeSectionMarkdown(docPath: string, id: string, sectionMarkdown: string): void {
  const doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n';
  mkdirSync(path.dirname(docPath), { recursive: true });
  writeFileSync(docPath, upsertSection(doc, id, sectionMarkdown));
}

/** Writes results as pretty JSON, creating the folder. */
export function writeResultsJson(file: string, results: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

/** Path of `target` relative to the folder of the markdown file `doc`, with '/' separators. */
export function linkFrom(doc: string, target: string): string {
  return path.relative(path.dirname(doc), target).split(path.sep).join('/');
}
