import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import { isTensorshareError } from '../errors.js';
import { machineInfo } from './machine.js';
import {
  fenceSection,
  keepSections,
  linkFrom,
  markdownTable,
  renderSection,
  upsertSection,
  writeResultsJson,
  writeSection,
  writeSectionMarkdown,
} from './report.js';

test('markdownTable aligns numeric columns right and escapes pipes', () => {
  const md = markdownTable({
    headers: ['mode', 'N', 'PSS'],
    rows: [
      ['plain|x', 1, '12 MiB'],
      ['noprepack', 2, '20 MiB'],
    ],
  });
  assert.equal(
    md,
    ['| mode | N | PSS |', '| --- | ---: | --- |', '| plain\\|x | 1 | 12 MiB |', '| noprepack | 2 | 20 MiB |'].join(
      '\n',
    ),
  );
  assert.throws(
    () => markdownTable({ headers: ['a'], rows: [[1, 2]] }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

test('renderSection fences content with markers; upsertSection replaces in place', () => {
  const s1 = renderSection({
    id: 'density',
    title: 'Density',
    intro: 'N processes.',
    tables: [{ headers: ['a'], rows: [[1]] }],
    charts: [{ title: 'PSS vs N', file: 'bench/density pss.svg' }],
    notes: ['n1'],
  });
  assert.match(s1, /^<!-- bench:density:start -->\n\n## Density\n\nN processes\.\n/);
  assert.ok(s1.includes('![PSS vs N](bench/density%20pss.svg)'));
  assert.ok(s1.trimEnd().endsWith('<!-- bench:density:end -->'));
  const cold = renderSection({ id: 'cold', title: 'Cold start' });
  let doc = upsertSection('# Benchmarks\n', 'density', s1);
  doc = upsertSection(doc, 'cold', cold);
  const s2 = renderSection({ id: 'density', title: 'Density v2' });
  const doc2 = upsertSection(doc, 'density', s2);
  assert.ok(doc2.includes('## Density v2') && !doc2.includes('N processes.'));
  assert.ok(doc2.indexOf('Density v2') < doc2.indexOf('Cold start')); // stays in place
  assert.equal(upsertSection(doc2, 'density', s2), doc2); // idempotent
  assert.throws(
    () => renderSection({ id: 'bad id', title: 'x' }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

test('writeSection and writeResultsJson write files; machine table renders', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tensorshare-report-'));
  try {
    const doc = path.join(dir, 'docs', 'benchmarks.md');
    writeSection(doc, { id: 'density', title: 'Density', machine: machineInfo({ probeDropCaches: false }) });
    writeSection(doc, { id: 'density', title: 'Density' });
    const text = readFileSync(doc, 'utf8');
    assert.equal(text.split('## Density').length, 2);
    assert.ok(text.startsWith('# Benchmarks\n'));
    writeResultsJson(path.join(dir, 'r', 'x.json'), { a: 1 });
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'r', 'x.json'), 'utf8')), { a: 1 });
    assert.equal(linkFrom(doc, path.join(dir, 'docs', 'img', 'a.svg')), 'img/a.svg');
    const withMachine = renderSection({ id: 'm', title: 'M', machine: machineInfo({ probeDropCaches: false }) });
    assert.ok(withMachine.includes('| Node / onnxruntime-node |'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// From the scheduling benchmark, whose own section writer was merged into this one.
test('a section written elsewhere is replaced between its markers and the rest of the file is kept', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-sched-md-'));
  const BEGIN = '<!-- bench:sched:start -->';
  const END = '<!-- bench:sched:end -->';
  const write = (body: string) => writeSectionMarkdown(file, 'sched', fenceSection('sched', body));
  const file = path.join(dir, 'benchmarks.md');
  try {
    write('first');
    assert.equal(await fs.readFile(file, 'utf8'), `# Benchmarks\n\n${BEGIN}\nfirst\n${END}\n`);
    await fs.writeFile(file, `# Benchmarks\n\nDensity: 12x\n\n${BEGIN}\nold\n${END}\n\n## Cold start\n42 ms\n`);
    write('new\nlines');
    assert.equal(
      await fs.readFile(file, 'utf8'),
      `# Benchmarks\n\nDensity: 12x\n\n${BEGIN}\nnew\nlines\n${END}\n\n## Cold start\n42 ms\n`,
    );
    await fs.writeFile(file, '# Benchmarks\n\nother');
    write('x');
    assert.equal(await fs.readFile(file, 'utf8'), `# Benchmarks\n\nother\n\n${BEGIN}\nx\n${END}\n`);
    assert.throws(
      () => fenceSection('bad id', 'x'),
      (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a writer of the whole document keeps the sections other commands wrote', () => {
  const sched = fenceSection('sched', '## Scheduling\n\n42/s');
  const old = `# Benchmarks\n\nold density\n\n${sched}\n## old tail\n`;
  const fresh = '# Benchmarks\n\nnew density\n';
  assert.equal(keepSections(old, fresh), `${fresh}\n${sched}`);
  assert.equal(
    keepSections(old, keepSections(old, fresh)),
    keepSections(old, fresh),
    'a section already there is not added twice',
  );
  assert.equal(keepSections('', fresh), fresh);
});
