// resize and toChwBgr are written for V8's interpreter (a first call runs
// them there): column tables, channels unrolled. They must give exactly what
// the textbook per-sample formulas give, which the models were checked with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../prng.js';
import { resize, toChwBgr, type Image } from './image.js';

function referenceResize(img: Image, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(img.height - 1, Math.floor(fy));
    const y1 = Math.min(img.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(img.width - 1, Math.floor(fx));
      const x1 = Math.min(img.width - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => img.rgb[(yy * img.width + xx) * 3 + c]!;
        const v = (at(y0, x0) * (1 - wx) + at(y0, x1) * wx) * (1 - wy) + (at(y1, x0) * (1 - wx) + at(y1, x1) * wx) * wy;
        out[(y * width + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return out;
}

function referenceChwBgr(img: Image, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) out[c * plane + i] = (img.rgb[i * 3 + (2 - c)]! / 255 - mean[c]!) / std[c]!;
  return out;
}

test('resize and toChwBgr give the per-sample formulas byte for byte, up and down, at fractional scales', () => {
  const random = seededRandom('image-resize');
  const int = (n: number) => 1 + Math.floor(random() * n);
  for (let k = 0; k < 60; k++) {
    const img: Image = { width: int(200), height: int(80), rgb: new Uint8Array(0) };
    img.rgb = Uint8Array.from({ length: img.width * img.height * 3 }, () => Math.floor(random() * 256));
    const width = int(260);
    const height = int(90);
    const label = `${img.width}x${img.height} -> ${width}x${height}`;
    assert.deepEqual(resize(img, width, height).rgb, referenceResize(img, width, height), label);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    assert.deepEqual(toChwBgr(img, mean, std), referenceChwBgr(img, mean, std), label);
  }
});
