// The kit's first call in a process is slow: V8 compiles each function on its
// first call and its code starts cold (measured: the bundled ocr handler's
// first call took 59-64 ms against 25-29 ms once warm, the two model runs
// about 27 ms of it both times). warmUpHandlers runs the image and OCR path
// once on a small synthetic PNG with stand-in model runs, so a process that
// is idle anyway (a pre-started instance, an instance waiting for its
// executor's opens) pays it before its first request.
import { decodePng } from './image.js';
import { readText, type Run } from './pipelines.js';

// About a word image's size, with texture: pngjs's encoder then picks each of its row filters somewhere (the
// decoder has a routine per filter), and the loops run long enough to be optimized.
const WIDTH = 320;
const HEIGHT = 48;

/**
 * A dark word on a light background, as PNG bytes (pngjs encodes it: the decoder's path is warmed too). pngjs's
 * encoder is imported here, not with the kit: a handler that only decodes does not load it.
 */
async function syntheticPng(): Promise<Uint8Array> {
  const { PNG } = await import('pngjs');
  const png = new PNG({ width: WIDTH, height: HEIGHT });
  for (let p = 0; p < WIDTH * HEIGHT; p++) {
    const x = p % WIDTH;
    const y = (p - x) / WIDTH;
    const ink = x > WIDTH / 4 && x < (3 * WIDTH) / 4 && y > HEIGHT / 4 && y < (3 * HEIGHT) / 4;
    const texture = (x * 7 + y * 13 + ((x * y) % 11)) % 23;
    png.data.fill(ink ? 20 + texture : 235 - texture, p * 4, p * 4 + 3);
    png.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
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
  for (let t = 0; t < steps; t++) probs[t * classes + (t % classes)] = 1;
  return { probs: { data: probs, dims: [1, steps, classes] } };
};

/**
 * Runs decodePng and readText `rounds` times on synthetic data (no model; about 40 ms a round on one core here).
 * Resolves to the number of lines the last round read (1).
 */
export async function warmUpHandlers(rounds = 1): Promise<number> {
  const png = await syntheticPng();
  let lines = 0;
  for (let i = 0; i < rounds; i++)
    lines = (await readText(decodePng(png), detStandIn, recStandIn, ['a', 'b', 'c'])).length;
  return lines;
}
