// The models benchmarks run on: the generated BERT-base-shaped encoder, the
// generated ResNet-50-shaped CNN and the real PaddleOCR v4 recognizer (quick
// mode: small generated models + the real recognizer). prepareModels()
// writes the generated files, imports all of them into the benchmark's
// repository and builds their fast-run variants up front, as `tensorshare
// import` does.
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  bert,
  BERT_BASE,
  resnet50,
  RESNET50,
  RESNET_TINY,
  paramCount,
  writeModel,
  type ModelSpec,
} from '../gen/index.js';
import { bundledFile } from '../paths.js';
import { importModel } from '../store/import.js';
import { buildFastRun } from '../store/fast-run.js';
import { layout } from '../store/layout.js';
import type { Manifest, VariantManifest } from '../store/manifest.js';
import type { InputSpec } from './protocol.js';

export type ModelId = 'bert' | 'resnet50' | 'ocr-rec';

export const SEQUENCE = 128;
export const OCR_REC_FILE = bundledFile('ocrRec');

/** BERT-shaped encoder small enough for quick runs (2 layers, hidden 128; 128 positions so sequence 128 works). */
export const BERT_SMALL = Object.freeze({
  layers: 2,
  hidden: 128,
  heads: 2,
  intermediate: 512,
  vocab: 2000,
  maxPositions: SEQUENCE,
});

export interface ModelPlan {
  id: ModelId;
  label: string;
  source: 'generated' | 'real';
  /** Generated models: the spec to write; real ones: the file. */
  spec?: ModelSpec;
  file?: string;
  inputs(batch: number): InputSpec[];
  /** What one input item is, for the report. */
  inputLabel: string;
}

function bertInputs(vocab: number) {
  return (batch: number): InputSpec[] => [
    { name: 'input_ids', dtype: 'int64', shape: [batch, SEQUENCE], fill: 'tokens', vocab },
    { name: 'attention_mask', dtype: 'int64', shape: [batch, SEQUENCE], fill: 'ones' },
    { name: 'token_type_ids', dtype: 'int64', shape: [batch, SEQUENCE], fill: 'zeros' },
  ];
}

export function modelPlans(quick: boolean): ModelPlan[] {
  const b = quick ? BERT_SMALL : BERT_BASE;
  const r = quick ? { ...RESNET50, ...RESNET_TINY } : RESNET50;
  return [
    {
      id: 'bert',
      label: quick
        ? `BERT-shaped encoder, small (${b.layers} layers, hidden ${b.hidden})`
        : 'BERT-base-shaped encoder (generated)',
      source: 'generated',
      spec: bert(quick ? BERT_SMALL : {}),
      inputs: bertInputs(b.vocab),
      inputLabel: `sequence ${SEQUENCE}`,
    },
    {
      id: 'resnet50',
      label: quick ? 'ResNet-shaped CNN, tiny (generated)' : 'ResNet-50-shaped CNN (generated)',
      source: 'generated',
      spec: resnet50(quick ? RESNET_TINY : {}),
      inputs: (batch) => [
        { name: 'input', dtype: 'float32', shape: [batch, 3, r.imageSize, r.imageSize], fill: 'random' },
      ],
      inputLabel: `${r.imageSize}x${r.imageSize} image`,
    },
    {
      id: 'ocr-rec',
      label: 'PaddleOCR v4 recognition (real)',
      source: 'real',
      file: OCR_REC_FILE,
      inputs: (batch) => [{ name: 'x', dtype: 'float32', shape: [batch, 3, 48, 320], fill: 'ocr-word' }],
      inputLabel: 'word image 48x320 (assets/ocr-word.png)',
    },
  ];
}

export interface PreparedModel {
  id: ModelId;
  label: string;
  source: 'generated' | 'real';
  inputLabel: string;
  /** The plain ONNX file (weights embedded) that plain onnxruntime-node loads. */
  file: string;
  fileBytes: number;
  params: number | null;
  /** Sum of the manifest's tensor bytes (external ones; what the store shares). */
  weightBytes: number;
  tensors: number;
  /** Model reference in the benchmark repository. */
  ref: string;
  manifest: Manifest;
  fastRun: {
    status: VariantManifest['status'];
    reason?: string;
    buildMs: number;
    bytes: number;
    prepackedTensors: number;
  };
  inputs(batch: number): InputSpec[];
}

/** Writes, imports and builds fast-run variants; `dir` receives the generated files. */
export async function prepareModels(
  plans: readonly ModelPlan[],
  dir: string,
  repository: string,
  log: (s: string) => void = () => {},
): Promise<PreparedModel[]> {
  await fs.mkdir(dir, { recursive: true });
  const repo = layout(repository);
  const out: PreparedModel[] = [];
  for (const p of plans) {
    let file = p.file!;
    if (p.spec) {
      file = path.join(dir, `${p.id}.onnx`);
      await writeModel(p.spec, file);
    }
    const fileBytes = (await fs.stat(file)).size;
    const imported = await importModel(repository, file, { name: p.id, defaultMode: 'fast-run' });
    const m = imported.manifest;
    const fr = await buildFastRun(repo, repo, m);
    const v = fr.variant;
    log(
      `model ${p.id}: ${(fileBytes / 1e6).toFixed(1)} MB, ${m.tensors.length} tensors; fast-run ${v.status} in ${v.buildMs} ms`,
    );
    out.push({
      id: p.id,
      label: p.label,
      source: p.source,
      inputLabel: p.inputLabel,
      file,
      fileBytes,
      params: p.spec ? paramCount(p.spec) : null,
      weightBytes: m.tensors.reduce((a, t) => a + t.bytes, 0),
      tensors: m.tensors.length,
      ref: `${m.name}:${m.version}`,
      manifest: m,
      fastRun: {
        status: v.status,
        reason: v.reason,
        buildMs: v.buildMs,
        bytes: v.tensors.reduce((a, t) => a + t.bytes, 0),
        prepackedTensors: v.tensors.filter((t) => (t.prepacked ?? 0) > 0).length,
      },
      inputs: p.inputs,
    });
  }
  return out;
}
