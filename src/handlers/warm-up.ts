// The kit's first call in a process is slow: V8 compiles each function on its
// first call and its code starts cold (measured: the bundled ocr handler's
// first call took 59-64 ms against 25-29 ms once warm, the two model runs
// about 27 ms of it both times). warmUpHandlers runs the image and OCR path
// on synthetic PNGs with stand-in model runs, so a process that is idle
// anyway (a pre-started instance) pays it before its first request. The
// stand-ins give what real runs give where V8 specializes on it (fractional
// scores and scales, grayscale and RGBA files): code optimized on narrower
// input is thrown away at the first real request, which then runs its loops
// unoptimized (measured: the ocr path's JavaScript in that first request
// after this warm-up, 12-32 ms before and 3-10 ms after, 2.5 ms warm).
import { decodePng } from './image.js';
import { readText, type Run } from './pipelines.js';

// About a word image's size, with texture: pngjs's encoder then picks each of its row filters somewhere (the
// decoder has a routine per filter), and the loops run long enough to be optimized. Two images, RGBA and
// grayscale, of sizes whose resizes scale by fractions both ways: code optimized on one kind of input only is
// thrown away at the first real image of another (a grayscale word, a fractional scale).
const IMAGES = [
  { width: 320, height: 48, colorType: 6 },
  { width: 283, height: 57, colorType: 0 },
] as const;

/**
 * A dark word on a light background, as PNG bytes (pngjs encodes it: the decoder's path is warmed too). pngjs's
 * encoder is imported here, not with the kit: a handler that only decodes does not load it.
 */
async function syntheticPng({ width, height, colorType }: (typeof IMAGES)[number]): Promise<Uint8Array> {
  const { PNG } = await import('pngjs');
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) {
    const x = p % width;
    const y = (p - x) / width;
    const ink = x > width / 4 && x < (3 * width) / 4 && y > height / 4 && y < (3 * height) / 4;
    const texture = (x * 7 + y * 13 + ((x * y) % 11)) % 23;
    png.data.fill(ink ? 20 + texture : 235 - texture, p * 4, p * 4 + 3);
    png.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType });
}

/** Detection stand-in: one text region in the middle of the probability map. */
const detStandIn: Run = async (feeds) => {
  const [, , h, w] = feeds.x!.shape as [number, number, number, number];
  const map = new Float32Array(h * w);
  for (let y = Math.floor(h / 4); y < (3 * h) / 4; y++) map.fill(0.9, y * w + Math.floor(w / 4), y * w + (3 * w) / 4);
  return { map: { data: map, dims: [1, 1, h, w] } };
};

/**
 * Recognition stand-in: class scores of PaddleOCR v4's shape (40 steps over its 6625 classes) that decode to a
 * short text: the decoding loop is optimized at the size it will run at.
 */
const recStandIn: Run = async () => {
  const steps = 40;
  const classes = 6625;
  const probs = new Float32Array(steps * classes);
  // Fractional scores, as a softmax gives: the confidence's sum is a double from the first call on.
  for (let t = 0; t < steps; t++) probs[t * classes + (t % classes)] = 0.9;
  return { probs: { data: probs, dims: [1, steps, classes] } };
};

/**
 * Runs decodePng and readText `rounds` times on each synthetic image (no model; two rounds take about 85 ms in a fresh
 * process here).
 * Resolves to the number of lines the last round read (1).
 */
export async function warmUpHandlers(rounds = 1): Promise<number> {
  const pngs = await Promise.all(IMAGES.map(syntheticPng));
  let lines = 0;
  for (let i = 0; i < rounds; i++)
    for (const png of pngs) lines = (await readText(decodePng(png), detStandIn, recStandIn, ['a', 'b', 'c'])).length;
  return lines;
}
