import { createRequire } from 'node:module';
import type { PNG } from 'pngjs';
import { TensorshareError } from '../errors.js';
import { describeBytes, startsWith } from './payload.js';

/** RGB image, 8 bits per channel, row-major. */
export interface Image {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/**
 * pngjs's synchronous decoder alone (what `PNG.sync.read` calls), required from the pinned package's lib/: its main
 * module also loads the stream parser and both encoders, about 6 ms more of every instance's imports here. It takes
 * its options object as given (png-sync.js passes {}).
 */
const readPng = createRequire(import.meta.url)('pngjs/lib/parser-sync.js') as typeof PNG.sync.read;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** 4096x4096: what an instance with no memory limit may decode. */
export const DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096;
/**
 * Bytes per pixel decoding holds at its peak: pngjs's inflated scanlines and
 * RGBA (4 + 4), our RGB copy (3), and the slack of the models' resized inputs.
 */
const PEAK_BYTES_PER_PIXEL = 16;

/** The most pixels an instance with `memoryLimitMb` may decode: half its memory at the decoding peak. */
export function maxImagePixels(memoryLimitMb?: number): number {
  if (memoryLimitMb === undefined || !(memoryLimitMb > 0)) return DEFAULT_MAX_IMAGE_PIXELS;
  return Math.floor((memoryLimitMb * 1024 * 1024) / 2 / PEAK_BYTES_PER_PIXEL);
}

/** Width and height from the IHDR chunk, which the PNG format puts first. */
export function pngDimensions(bytes: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 24 || !startsWith(bytes, PNG_SIGNATURE) || b.toString('ascii', 12, 16) !== 'IHDR') {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', 'not a valid PNG image: no IHDR header at its start');
  }
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

export interface ImageLimits {
  /** Most width x height to decode (default DEFAULT_MAX_IMAGE_PIXELS). */
  maxPixels?: number;
}

/** Decodes a PNG after checking its header's dimensions against `limits`: a small file can declare a huge image. */
export function decodePng(bytes: Uint8Array, limits: ImageLimits = {}): Image {
  // Checked here: pngjs answers a foreign format with stream-internal messages.
  if (!startsWith(bytes, PNG_SIGNATURE)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `expected a PNG image (starting 89 50 4e 47 0d 0a 1a 0a), received ${describeBytes(bytes)}`,
    );
  }
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const { width, height } = pngDimensions(bytes);
  if (width === 0 || height === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `PNG image has no pixels (${width}x${height})`);
  if (width * height > maxPixels) {
    const side = Math.floor(Math.sqrt(maxPixels));
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `PNG image is ${width}x${height} (${width * height} pixels), over the limit of ${maxPixels} pixels (about ${side}x${side}); send a smaller image`,
      { width, height, maxPixels },
    );
  }
  let png: PNG;
  try {
    png = readPng(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {});
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `expected a complete PNG image, received ${bytes.length} bytes with a PNG signature that do not decode (truncated or damaged)`,
      {},
      { cause: e },
    );
  }
  // Read out of the PNG object once: its shape follows the file's chunks (gAMA, ...), and a loop optimized for one
  // file's shape is thrown away at the next one's.
  const data: Uint8Array = png.data;
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
    // Composite alpha onto white: text images often have transparent backgrounds.
    const a = data[i + 3]! / 255;
    rgb[j] = Math.round(data[i]! * a + 255 * (1 - a));
    rgb[j + 1] = Math.round(data[i + 1]! * a + 255 * (1 - a));
    rgb[j + 2] = Math.round(data[i + 2]! * a + 255 * (1 - a));
  }
  return { width: png.width, height: png.height, rgb };
}

/** Bilinear resize. */
export function resize(img: Image, width: number, height: number): Image {
  const out = new Uint8Array(width * height * 3);
  const src = img.rgb;
  const sx = img.width / width;
  const sy = img.height / height;
  // Each column's two source offsets and weight, computed once instead of once per row: a first call runs this
  // loop in V8's interpreter, where every operation counts (no closure per sample, channels unrolled, for the same
  // reason). The arithmetic per sample is the same as before, so the bytes are too.
  const col0 = new Int32Array(width);
  const col1 = new Int32Array(width);
  const colW = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(img.width - 1, Math.floor(fx));
    col0[x] = x0 * 3;
    col1[x] = Math.min(img.width - 1, x0 + 1) * 3;
    colW[x] = fx - x0;
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(img.height - 1, Math.floor(fy));
    const y1 = Math.min(img.height - 1, y0 + 1);
    const wy = fy - y0;
    const row0 = y0 * img.width * 3;
    const row1 = y1 * img.width * 3;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      const wx = colW[x]!;
      // The four neighbours' offsets, p<row><column>: p01 is row y0, column x1.
      const p00 = row0 + col0[x]!;
      const p01 = row0 + col1[x]!;
      const p10 = row1 + col0[x]!;
      const p11 = row1 + col1[x]!;
      out[o] = Math.round(
        (src[p00]! * (1 - wx) + src[p01]! * wx) * (1 - wy) + (src[p10]! * (1 - wx) + src[p11]! * wx) * wy,
      );
      out[o + 1] = Math.round(
        (src[p00 + 1]! * (1 - wx) + src[p01 + 1]! * wx) * (1 - wy) +
          (src[p10 + 1]! * (1 - wx) + src[p11 + 1]! * wx) * wy,
      );
      out[o + 2] = Math.round(
        (src[p00 + 2]! * (1 - wx) + src[p01 + 2]! * wx) * (1 - wy) +
          (src[p10 + 2]! * (1 - wx) + src[p11 + 2]! * wx) * wy,
      );
    }
  }
  return { width, height, rgb: out };
}

export function crop(img: Image, x: number, y: number, w: number, h: number): Image {
  const out = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++)
    out.set(img.rgb.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return { width: w, height: h, rgb: out };
}

/** CHW float tensor data in BGR order (as PaddleOCR's cv2-based training saw it), (v/255 - mean)/std per channel. */
export function toChwBgr(img: Image, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  const rgb = img.rgb;
  // Channels unrolled (a first call runs this in the interpreter); the same arithmetic per value as a loop over c.
  const [m0, m1, m2] = [mean[0]!, mean[1]!, mean[2]!];
  const [s0, s1, s2] = [std[0]!, std[1]!, std[2]!];
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    // BGR: channel 0 is the pixel's blue.
    out[i] = (rgb[p + 2]! / 255 - m0) / s0;
    out[plane + i] = (rgb[p + 1]! / 255 - m1) / s1;
    out[2 * plane + i] = (rgb[p]! / 255 - m2) / s2;
  }
  return out;
}
