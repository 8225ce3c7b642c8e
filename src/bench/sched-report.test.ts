// The scheduling benchmark's reporting pieces, without running a benchmark:
// the SVG chart, the markdown section replaced between markers (and nothing
// else), infer bodies built from metadata, the CLI's rate list.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lineChart, niceStep } from './svg-chart.js';
import { replaceSection, simulateOneSlot, SECTION_BEGIN, SECTION_END } from './sched.js';
import { inferBody } from './http-load.js';
import { parseRates } from '../cli/commands/load.js';

describe('scheduling benchmark report', () => {
  test('line chart: one polyline per series, markers, SLO line, escaped text, deterministic', () => {
    const c = {
      title: 'p99 <vs> throughput', xLabel: 'req/s', yLabel: 'ms',
      series: [{ name: 'nobatch', points: [[10, 20], [50, 90], [30, 40]] as Array<[number, number]> }, { name: 'aimd', points: [[10, 15], [120, 80]] as Array<[number, number]>, dashed: true }],
      hlines: [{ y: 100, label: 'SLO 100 ms' }],
    };
    const svg = lineChart(c);
    assert.equal(svg, lineChart(c));
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.equal(svg.match(/<circle /g)?.length, 5);
    assert.match(svg, /p99 &lt;vs&gt; throughput/);
    assert.match(svg, />SLO 100 ms</);
    assert.match(svg, /stroke-dasharray="5 3"/);
    assert.deepEqual([niceStep(100), niceStep(7), niceStep(0.3)], [20, 1, 0.05]);
  });

  test('the sched section is replaced between its markers and the rest of the file is kept', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-sched-md-'));
    try {
      const file = path.join(dir, 'benchmarks.md');
      await replaceSection(file, 'first');
      assert.equal(await fs.readFile(file, 'utf8'), `# Benchmarks\n\n${SECTION_BEGIN}\nfirst\n${SECTION_END}\n`);
      await fs.writeFile(file, `# Benchmarks\n\nDensity: 12x\n\n${SECTION_BEGIN}\nold\n${SECTION_END}\n\n## Cold start\n42 ms\n`);
      await replaceSection(file, 'new\nlines');
      assert.equal(await fs.readFile(file, 'utf8'), `# Benchmarks\n\nDensity: 12x\n\n${SECTION_BEGIN}\nnew\nlines\n${SECTION_END}\n\n## Cold start\n42 ms\n`);
      await fs.writeFile(file, '# Benchmarks\n\nother');
      await replaceSection(file, 'x');
      assert.equal(await fs.readFile(file, 'utf8'), `# Benchmarks\n\nother\n\n${SECTION_BEGIN}\nx\n${SECTION_END}\n`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('infer bodies from metadata: dynamic dimensions from the caller, binary outputs, parameters', () => {
    const meta = {
      name: 'bert',
      inputs: [{ name: 'input_ids', datatype: 'INT64', shape: [-1, -1] }, { name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'pooler_output', datatype: 'FP32', shape: [-1, 768] }, { name: 'last_hidden_state', datatype: 'FP32', shape: [-1, -1, 768] }],
    };
    const body = JSON.parse(inferBody(meta, { shapes: { input_ids: [1, 4] }, outputs: ['pooler_output'], binaryOutputs: true, parameters: { priority: 'besteffort' } }));
    assert.deepEqual(body.inputs[0], { name: 'input_ids', datatype: 'INT64', shape: [1, 4], data: [1, 1, 1, 1] });
    assert.deepEqual(body.inputs[1].shape, [1, 2]);
    assert.deepEqual(body.outputs, [{ name: 'pooler_output', parameters: { binary_data: true } }]);
    assert.deepEqual(body.parameters, { priority: 'besteffort' });
    assert.throws(() => inferBody(meta, { shapes: { x: [1, 3] } }), /shape \[1,3\] given for input 'x' does not fit its metadata \[-1,2\]/);
    assert.throws(() => inferBody(meta, { outputs: ['nope'] }), /model 'bert' has no output 'nope'/);
    assert.deepEqual(parseRates('10, 20,0'), [10, 20, 0]);
    assert.throws(() => parseRates('10,x'), /--rates takes requests per second/);
  });

  test('the one-slot simulation: srtf lowers the mean and the short requests\' latency against fifo', () => {
    const svc = { short: 3, long: 17 };
    const fifo = simulateOneSlot('fifo', 68, svc);
    const srtf = simulateOneSlot('srtf', 68, svc);
    assert.ok(srtf.all < fifo.all, `srtf ${srtf.all} vs fifo ${fifo.all}`);
    assert.ok(srtf.short < fifo.short);
    assert.deepEqual(simulateOneSlot('fifo', 68, svc), fifo, 'deterministic');
  });
});
