// Whole-model-use pipelines over a `run` function, so the same code drives an
// in-process session (demo, tests) or a remote one (serving handlers).
import type { Image } from './image.js';
import * as ocr from './ocr.js';
import type { Audio } from './audio.js';
import { speechSegments, vadFeeds, vadFrames, type Segment } from './vad.js';

export interface Plain {
  dtype: string;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export interface OutTensor {
  data: unknown;
  dims: readonly number[];
}

export type Run = (feeds: Record<string, Plain>) => Promise<Record<string, OutTensor>>;

export interface OcrLine extends ocr.Box {
  text: string;
  confidence: number;
}

/**
 * A tensor's dims as a new array of small integers. The decoding loops are handed these, not the session's own
 * array: onnxruntime-node's binding builds holey arrays, a device session's come from JSON, the kit's warm-up's
 * are literals, and V8 throws away code optimized for one kind of array at the first call with another (and runs
 * the loop unoptimized again).
 */
const intDims = (t: OutTensor): number[] => Array.from(t.dims, (n) => n | 0);

export async function readText(img: Image, det: Run, rec: Run, keys: readonly string[]): Promise<OcrLine[]> {
  const d = ocr.detInput(img);
  const map = Object.values(await det({ x: d.tensor }))[0]!;
  const lines: OcrLine[] = [];
  for (const box of ocr.detBoxes(map.data as Float32Array, intDims(map), d.scaleX, d.scaleY, img.width, img.height)) {
    const out = Object.values(await rec({ x: ocr.recInput(ocr.cropBox(img, box)) }))[0]!;
    lines.push({ ...box, ...ocr.ctcDecode(out.data as Float32Array, intDims(out), keys) });
  }
  return lines;
}

export async function detectSpeech(audio: Audio, run: Run): Promise<{ probabilities: number[]; segments: Segment[] }> {
  let h: Float32Array = new Float32Array(128);
  let c: Float32Array = new Float32Array(128);
  const probabilities: number[] = [];
  for (const frame of vadFrames(audio)) {
    const out = await run(vadFeeds(frame, h, c) as unknown as Record<string, Plain>);
    probabilities.push((out.output!.data as Float32Array)[0]!);
    h = out.hn!.data as Float32Array;
    c = out.cn!.data as Float32Array;
  }
  return { probabilities, segments: speechSegments(probabilities) };
}
