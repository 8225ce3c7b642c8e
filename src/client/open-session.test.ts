// Outputs through the store must equal plain onnxruntime-node on the original
// file, bit for bit, for every fixture model, with the options each mode is
// equivalent to: fast-run == plain defaults (optimized + prepacked);
// fast-open == plain with optimizations and prepacking off.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { openSession } from './open-session.js';
import { importModel } from '../store/import.js';
import { FIXTURES } from '../testing/fixtures.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { decodePng } from '../handlers/image.js';
import { decodeWav } from '../handlers/audio.js';
import * as ocr from '../handlers/ocr.js';
import { vadFeeds, vadFrames } from '../handlers/vad.js';
import type { Plain } from '../handlers/pipelines.js';
import type { OpenMode } from '../store/manifest.js';

const toOrt = (feeds: Record<string, Plain>) =>
  Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.dtype as 'float32', v.data as Float32Array, v.shape)]),
  );

const PLAIN: Record<OpenMode, ort.InferenceSession.SessionOptions> = {
  'fast-run': { logSeverityLevel: 3 },
  'fast-open': {
    logSeverityLevel: 3,
    graphOptimizationLevel: 'disabled',
    enableMemPattern: false,
    extra: { session: { disable_prepacking: '1' } },
  },
};

async function realInputs(): Promise<Record<string, Record<string, Plain>>> {
  const page = decodePng(await fs.readFile('assets/ocr-page.png'));
  const word = decodePng(await fs.readFile('assets/ocr-word.png'));
  const audio = decodeWav(await fs.readFile('assets/speech.wav'));
  const frame = vadFrames(audio)[40]!; // inside the spoken part
  return {
    ocrDet: { x: ocr.detInput(page).tensor },
    ocrRec: { x: ocr.recInput(word) },
    ocrCls: { x: { ...ocr.recInput(word, 192), shape: [1, 3, 48, 192] } },
    vad: vadFeeds(frame, new Float32Array(128).fill(0.1), new Float32Array(128).fill(-0.1)) as unknown as Record<
      string,
      Plain
    >,
  };
}

describe('sessions from the store equal plain onnxruntime-node bit for bit', () => {
  let roots: TempRoots;
  let inputs: Record<string, Record<string, Plain>>;
  before(async () => {
    roots = await tempRoots('equal');
    inputs = await realInputs();
  });
  after(async () => {
    await roots.cleanup();
  });

  for (const key of ['ocrDet', 'ocrRec', 'ocrCls', 'vad'] as const) {
    for (const mode of ['fast-open', 'fast-run'] as OpenMode[]) {
      test(`${key} in ${mode}`, async () => {
        await importModel(roots.repository, FIXTURES[key], { name: key });
        const shared = await openSession(key, { repository: roots.repository, store: roots.store, mode });
        // silero VAD's If subgraphs defeat ORT's saved optimized models: fast-run falls back to fast-open.
        const effective = shared.mode;
        if (key === 'vad' && mode === 'fast-run') assert.equal(effective, 'fast-open', 'fallback recorded');
        else assert.equal(effective, mode);
        const plain = await ort.InferenceSession.create(FIXTURES[key], { ...PLAIN[effective] });
        try {
          const feeds = toOrt(inputs[key]!);
          const a = await plain.run(feeds);
          const b = await shared.session.run(feeds);
          assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
          for (const name of Object.keys(a)) {
            assert.deepEqual(b[name]!.dims, a[name]!.dims, `${name} shape`);
            const x = Buffer.from((a[name]!.data as Float32Array).buffer);
            const y = Buffer.from((b[name]!.data as Float32Array).buffer);
            assert.ok(x.equals(y), `${key}/${name}: outputs differ in ${mode}`);
          }
        } finally {
          await plain.release();
          await shared.release();
        }
      });
    }
  }
});

describe("mode 'auto' answers from fast-open, then switches to fast-run behind the same session", () => {
  let roots: TempRoots;
  let inputs: Record<string, Record<string, Plain>>;
  before(async () => {
    roots = await tempRoots('auto');
    inputs = await realInputs();
  });
  after(async () => {
    await roots.cleanup();
  });

  const bytesOf = (o: ort.InferenceSession.OnnxValueMapType) =>
    Buffer.from((Object.values(o)[0]!.data as Float32Array).buffer);

  test("ocrRec: outputs match plain ORT with each mode's options, before and after the switch", async () => {
    await importModel(roots.repository, FIXTURES.ocrRec, { name: 'rec' });
    const s = await openSession('rec', { repository: roots.repository, store: roots.store, mode: 'auto' });
    const feeds = toOrt(inputs.ocrRec!);
    const plainOpen = await ort.InferenceSession.create(FIXTURES.ocrRec, PLAIN['fast-open']);
    const plainRun = await ort.InferenceSession.create(FIXTURES.ocrRec, PLAIN['fast-run']);
    try {
      assert.equal(s.mode, 'fast-open');
      const session = s.session;
      assert.ok(
        bytesOf(await session.run(feeds)).equals(bytesOf(await plainOpen.run(feeds))),
        'first answer from fast-open',
      );
      const sw = await s.switched!;
      assert.ok('switchMs' in sw, `switched: ${'error' in sw ? sw.error.message : ''}`);
      assert.equal(s.mode, 'fast-run');
      assert.ok(
        bytesOf(await session.run(feeds)).equals(bytesOf(await plainRun.run(feeds))),
        'same object now answers from fast-run',
      );
      assert.deepEqual(session.inputNames, ['x']);
    } finally {
      await s.release();
      await plainOpen.release();
      await plainRun.release();
    }
  });

  test('a model whose fast-run variant cannot load stays in fast-open and keeps working', async () => {
    await importModel(roots.repository, FIXTURES.vad, { name: 'vad' });
    const s = await openSession('vad', { repository: roots.repository, store: roots.store, mode: 'auto' });
    try {
      const feeds = toOrt(inputs.vad!);
      await s.session.run(feeds);
      const sw = await s.switched!;
      assert.ok('error' in sw && /staying in fast-open/.test(sw.error.message));
      assert.equal(s.mode, 'fast-open');
      assert.equal((await s.session.run(feeds)).output!.dims.join(','), '1,1');
    } finally {
      await s.release();
    }
  });
});
