// PaddleOCR v4: text detection (DB probability map -> boxes) and text
// recognition (CTC over a 6623-character dictionary). Each function maps
// between real data and the plain tensors the models take and give.
import { crop, resize, toChwBgr, type Image } from './image.js';

export interface PlainTensor {
  dtype: 'float32';
  shape: number[];
  data: Float32Array;
}

export const REC_HEIGHT = 48;

/** Recognition input: height 48, width by aspect ratio (a multiple of 8, at most maxWidth), values in [-1, 1]. */
export function recInput(img: Image, maxWidth = 960): PlainTensor {
  const width = Math.min(maxWidth, Math.max(16, Math.ceil((REC_HEIGHT * img.width) / img.height / 8) * 8));
  const r = resize(img, width, REC_HEIGHT);
  return { dtype: 'float32', shape: [1, 3, REC_HEIGHT, width], data: toChwBgr(r, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]) };
}

/** Greedy CTC decoding: argmax per step, merge repeats, drop blanks (index 0). Index keys.length+1 is a space. */
export function ctcDecode(
  probs: Float32Array,
  shape: readonly number[],
  keys: readonly string[],
): { text: string; confidence: number } {
  const [, steps, classes] = shape as [number, number, number];
  let text = '';
  let prev = -1;
  let confSum = 0;
  let confN = 0;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = -Infinity;
    for (let c = 0; c < classes; c++) {
      const p = probs[t * classes + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== prev) {
      text += best <= keys.length ? keys[best - 1] : ' ';
      confSum += bestP;
      confN++;
    }
    prev = best;
  }
  return { text, confidence: confN ? confSum / confN : 0 };
}

export function parseKeys(text: string): string[] {
  return text.split(/\r?\n/).filter((l, i, a) => l.length > 0 || i < a.length - 1);
}

/** Detection input: sides rounded to multiples of 32 (the DB network's stride), ImageNet normalisation. */
export function detInput(img: Image, maxSide = 960): { tensor: PlainTensor; scaleX: number; scaleY: number } {
  const s = Math.min(1, maxSide / Math.max(img.width, img.height));
  const w = Math.max(32, Math.round((img.width * s) / 32) * 32);
  const h = Math.max(32, Math.round((img.height * s) / 32) * 32);
  const r = resize(img, w, h);
  return {
    tensor: { dtype: 'float32', shape: [1, 3, h, w], data: toChwBgr(r, [0.406, 0.456, 0.485], [0.225, 0.224, 0.229]) },
    scaleX: img.width / w,
    scaleY: img.height / h,
  };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/**
 * Boxes from the DB probability map: threshold, 4-connected components,
 * bounding rectangles grown by the unclip margin DB shrinks text by.
 */
export function detBoxes(
  map: Float32Array,
  shape: readonly number[],
  scaleX: number,
  scaleY: number,
  imgW: number,
  imgH: number,
  threshold = 0.3,
  minArea = 16,
): Box[] {
  const h = shape[2]!;
  const w = shape[3]!;
  const seen = new Uint8Array(w * h);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || map[start]! < threshold) continue;
    let minX = w,
      minY = h,
      maxX = 0,
      maxY = 0,
      area = 0,
      sum = 0;
    stack.push(start);
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w;
      const y = (p - x) / w;
      area++;
      sum += map[p]!;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (const q of [x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1]) {
        if (q >= 0 && !seen[q] && map[q]! >= threshold) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (area < minArea) continue;
    const bw = maxX - minX + 1;
    const bh = maxY - minY + 1;
    const margin = (bw * bh * 1.5) / (2 * (bw + bh)); // DB's unclip distance: area * ratio / perimeter
    const x0 = Math.max(0, Math.floor((minX - margin) * scaleX));
    const y0 = Math.max(0, Math.floor((minY - margin) * scaleY));
    const x1 = Math.min(imgW, Math.ceil((maxX + 1 + margin) * scaleX));
    const y1 = Math.min(imgH, Math.ceil((maxY + 1 + margin) * scaleY));
    boxes.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: sum / area });
  }
  // Reading order: top to bottom, then left to right.
  return boxes.sort((a, b) => (Math.abs(a.y - b.y) < Math.min(a.height, b.height) / 2 ? a.x - b.x : a.y - b.y));
}

export function cropBox(img: Image, b: Box): Image {
  return crop(img, b.x, b.y, b.width, b.height);
}
