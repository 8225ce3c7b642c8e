// The bundled example functions (top-level functions/) on the real models and
// real inputs, served by instance processes over the shared store.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRuntime, type Runtime, type RuntimeEvent } from '../runtime.js';
import { createScheduling, type Scheduling } from '../scheduling.js';
import { importBundled } from '../../cli/commands/demo.js';
import { decodePng } from '../../handlers/image.js';
import { ctcDecode, parseKeys, recInput } from '../../handlers/ocr.js';
import { FIXTURES } from '../../testing/fixtures.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { isAlive, recordEvents } from '../../testing/functions.js';

describe('bundled functions: ocr, vad, ppocr-rec', () => {
  let roots: TempRoots;
  let rt: Runtime;
  let sched: Scheduling;
  let events: RuntimeEvent[];

  before(async () => {
    roots = await tempRoots('ts-serve-bundled');
    await importBundled(roots.repository);
    rt = await createRuntime({
      env: testEnv(),
      functionsDir: path.resolve('functions'),
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
    });
    sched = createScheduling({ runtime: rt });
    events = recordEvents(rt);
  });

  after(async () => {
    const pids = events.flatMap((e) => (e.type === 'instance-ready' && e.pid ? [e.pid] : []));
    await sched?.close();
    await rt?.close({ timeoutMs: 5000 });
    for (const pid of pids) assert.equal(isAlive(pid), false);
    await roots?.cleanup();
  });

  const coldStart = (fn: string) => {
    const e = events.find((x) => x.type === 'instance-ready' && x.function === fn);
    return e?.type === 'instance-ready' ? e : undefined;
  };

  test('all three are deployed with protocol metadata', () => {
    assert.deepEqual(
      rt.list().map((f) => [f.name, f.state]),
      [
        ['ocr', 'READY'],
        ['ppocr-rec', 'READY'],
        ['vad', 'READY'],
      ],
    );
    assert.deepEqual(rt.metadata('ocr')?.inputs, [{ name: 'image', datatype: 'BYTES', shape: [1] }]);
    assert.deepEqual(
      rt.metadata('ocr')?.outputs.map((o) => o.name),
      ['text', 'confidence', 'boxes', 'lines'],
    );
    assert.deepEqual(rt.metadata('ppocr-rec')?.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] }]);
  });

  test('ocr reads the page (PNG bytes in, lines out)', async (t) => {
    const png = await fs.readFile('assets/ocr-page.png');
    const r = await sched.infer('ocr', { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png] }] });
    const text = r.outputs.find((o) => o.name === 'text')!;
    assert.deepEqual(text.data, ['Shared weights', 'load once 2026']);
    assert.deepEqual(text.shape, [2]);
    const conf = r.outputs.find((o) => o.name === 'confidence')!.data as Float32Array;
    assert.ok(conf.every((c) => c > 0.9));
    assert.deepEqual(r.outputs.find((o) => o.name === 'boxes')!.shape, [2, 4]);
    const lines = (r.outputs.find((o) => o.name === 'lines')!.data as string[]).map((l) => JSON.parse(l));
    assert.equal(lines[0].text, 'Shared weights');
    assert.equal(lines[0].box.length, 4);
    assert.ok(r.timing?.coldStartMs !== undefined, 'the first request waited for a cold start');
    const cs = coldStart('ocr')!;
    t.diagnostic(
      `ocr cold start (spawn -> ready): ${cs.coldStartMs.toFixed(0)} ms; inside: open ${cs.openMs.toFixed(0)} ms (${cs.models.map((m) => `${m.ref} ${m.mode} ${m.openMs.toFixed(0)} ms`).join(', ')}), handler ${cs.handlerMs.toFixed(0)} ms`,
    );
    // Only the requested output comes back.
    const one = await sched.infer('ocr', {
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png] }],
      outputs: [{ name: 'text' }],
    });
    assert.deepEqual(
      one.outputs.map((o) => o.name),
      ['text'],
    );
    assert.equal(one.timing?.coldStartMs, undefined, 'the second request found a warm instance');
  });

  test('vad finds the speech (WAV bytes in, segments out)', async (t) => {
    const wav = await fs.readFile('assets/speech.wav');
    const r = await sched.infer('vad', { inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1], data: [wav] }] });
    const seg = r.outputs.find((o) => o.name === 'segments')!;
    assert.deepEqual(seg.shape, [1, 2]);
    const [start, end] = seg.data as Float32Array;
    assert.ok(start! >= 0.5 && start! <= 0.7, `start ${start}`);
    assert.ok(end! >= 3.2 && end! <= 3.4, `end ${end}`);
    const cs = coldStart('vad')!;
    t.diagnostic(
      `vad cold start (spawn -> ready): ${cs.coldStartMs.toFixed(0)} ms; inside: open ${cs.openMs.toFixed(0)} ms (${cs.models.map((m) => `${m.ref} ${m.mode} ${m.openMs.toFixed(0)} ms`).join(', ')}), handler ${cs.handlerMs.toFixed(0)} ms`,
    );
  });

  test('ppocr-rec takes and gives raw tensors', async () => {
    const x = recInput(decodePng(await fs.readFile('assets/ocr-word.png')));
    const r = await sched.infer('ppocr-rec', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: x.shape, data: x.data }],
    });
    const out = r.outputs[0]!;
    assert.equal(out.datatype, 'FP32');
    assert.equal(out.shape[0], 1);
    assert.equal(out.shape[2], 6625);
    const keys = parseKeys(await fs.readFile(FIXTURES.ocrKeys, 'utf8'));
    const { text, confidence } = ctcDecode(out.data as Float32Array, out.shape, keys);
    assert.ok(text.length > 0 && confidence > 0.8, `${text} ${confidence}`);
  });
});
