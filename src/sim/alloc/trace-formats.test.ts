import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { isTensorshareError } from '../../errors.js';
import { detectFormat, readTrace, traceName } from './load.js';
import { synthTrace } from './synth.js';
import { formatJsonTrace, parseJsonTrace } from './trace-json.js';
import { parsePytorchSnapshot } from './trace-pytorch.js';
import { OP_ALLOC, OP_FREE } from './trace.js';

const SNAPSHOT = {
  meta: { model: 'tiny', train: false },
  marks: [
    { at: 0, name: 'load', model: 'tiny' },
    { at: 3, name: 'request', batch: 2 },
  ],
  segments: [],
  device_traces: [
    [
      { action: 'segment_alloc', addr: 1000, size: 2097152, stream: 0 },
      { action: 'alloc', addr: 1000, size: 100, stream: 0, time_us: 1 },
      { action: 'alloc', addr: 1512, size: 4096, stream: 0, time_us: 2 },
      { action: 'alloc', addr: 9000, size: 8, stream: 0 },
      { action: 'free_requested', addr: 1512, size: 4096, stream: 0 },
      { action: 'free_completed', addr: 1512, size: 4096, stream: 0 },
      { action: 'free_completed', addr: 424242, size: 1, stream: 0 },
      { action: 'alloc', addr: 1512, size: 4000, stream: 0 },
      { action: 'snapshot', addr: 0, size: 0, stream: 0 },
      { action: 'segment_free', addr: 1000, size: 2097152, stream: 0 },
    ],
  ],
};

test('a PyTorch snapshot replays alloc / free_completed by address and counts the real segments', () => {
  const t = parsePytorchSnapshot(JSON.stringify(SNAPSHOT), 's.json');
  assert.deepEqual(Array.from(t.ops), [OP_ALLOC, OP_ALLOC, OP_ALLOC, OP_FREE, OP_ALLOC]);
  assert.deepEqual(Array.from(t.idBytes), [100, 4096, 8, 4000]);
  assert.deepEqual(Array.from(t.ids), [0, 1, 2, 1, 3]);
  assert.deepEqual(t.marks, [
    { at: 0, name: 'load', model: 'tiny' },
    { at: 2, name: 'request', batch: 2 },
  ]);
  assert.deepEqual(t.meta.observed, { segmentAllocs: 1, segmentFrees: 1, peakReserved: 2097152 });
  assert.deepEqual(t.skipped, { free_requested: 1, 'free of a block allocated before the trace': 1, snapshot: 1 });
});

test('bad PyTorch snapshots name the entry, or the line of a JSON syntax error', () => {
  const withEntry = (e: unknown) => {
    const s = structuredClone(SNAPSHOT) as { device_traces: unknown[][] };
    s.device_traces[0]![2] = e;
    return JSON.stringify(s);
  };
  assert.throws(
    () => parsePytorchSnapshot(withEntry({ action: 'allocate', addr: 1, size: 1 }), 's.json'),
    /s\.json: device_traces\[0\]\[2\] unknown action allocate/,
  );
  assert.throws(
    () => parsePytorchSnapshot(withEntry({ action: 'alloc', addr: 1000, size: 1 }), 's.json'),
    /device_traces\[0\]\[2\] alloc of address 1000 that is already allocated/,
  );
  assert.throws(
    () => parsePytorchSnapshot(withEntry({ action: 'alloc', addr: 'x', size: 1 }), 's.json'),
    /device_traces\[0\]\[2\] \(alloc\) has no integer addr/,
  );
  const pretty = JSON.stringify(SNAPSHOT, null, 1).split('\n');
  pretty[4] = `${pretty[4]} ]`;
  assert.throws(
    () => parsePytorchSnapshot(pretty.join('\n'), 's.json'),
    (e: unknown) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && e.details.line === 5 && /s\.json:5: not JSON/.test(e.message),
  );
  assert.throws(() => parsePytorchSnapshot('{"segments": []}', 's.json'), /s\.json:1: .*no device_traces/);
});

test('the JSON lines format round-trips, and bad lines name their line', () => {
  const t = synthTrace({ events: 2000, seed: 3 });
  const back = parseJsonTrace(formatJsonTrace(t), 'rt.jsonl');
  assert.equal(back.name, t.name);
  assert.deepEqual(Array.from(back.ops), Array.from(t.ops));
  assert.deepEqual(Array.from(back.ids), Array.from(t.ids));
  assert.deepEqual(Array.from(back.idBytes), Array.from(t.idBytes));
  assert.deepEqual(back.marks, t.marks);
  const bad = (text: string, re: RegExp, line: number) =>
    assert.throws(
      () => parseJsonTrace(text, 'b.jsonl'),
      (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && e.details.line === line && re.test(e.message),
    );
  const ok = '{"op":"alloc","id":"a","bytes":10}\n\n';
  bad(`${ok}{"op":"alloc","id":"b","bytes":1`, /b\.jsonl:3: not JSON/, 3);
  bad(`${ok}{"op":"free","id":"b"}`, /b\.jsonl:3: free of "b", which is not allocated/, 3);
  bad(`${ok}{"op":"resize","id":"a"}`, /b\.jsonl:3: unknown op "resize"/, 3);
  bad(`${ok}{"op":"alloc","id":"c","bytes":-1}`, /b\.jsonl:3: allocation size -1/, 3);
  bad(`${ok}{"op":"alloc","id":"a","bytes":1}`, /b\.jsonl:3: allocation a is allocated again/, 3);
  bad('{"format":"tensorshare-alloc","version":2}', /b\.jsonl:1: version 2/, 1);
});

test('formats are detected from the content, gzip or not', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-simalloc-'));
  try {
    assert.equal(detectFormat('x\ny] __LOG_MEMORY__ MemoryLogStep { step_id: 1 }'), 'tensorflow');
    assert.equal(detectFormat('{"op":"alloc","id":1,"bytes":2}\n'), 'json');
    assert.equal(detectFormat('{"format":"tensorshare-alloc","version":1}\n'), 'json');
    assert.equal(detectFormat('{\n "device_traces": [[]]\n}'), 'pytorch');
    assert.throws(() => detectFormat('hello'), /cannot tell the trace format/);
    const gz = path.join(dir, 'snap.json.gz');
    writeFileSync(gz, gzipSync(JSON.stringify(SNAPSHOT)));
    const t = readTrace(gz);
    assert.equal(t.name, 'snap');
    assert.equal(t.format, 'pytorch');
    assert.equal(traceName('/a/b/resnet50-infer-b8.json.gz'), 'resnet50-infer-b8');
    assert.throws(() => readTrace(path.join(dir, 'missing.log')), /cannot read trace/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
