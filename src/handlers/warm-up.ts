// The kit's first call in a process is slow: V8 compiles each function on its
// first call and its code starts cold (measured: the bundled ocr handler's
// first call took 59-64 ms against 25-29 ms once warm, the two model runs
// about 27 ms of it both times). warmUpHandlers runs the image and OCR path
// once on a small synthetic PNG with stand-in model runs, so a process that
// is idle anyway (a pre-started instance, an instance waiting for its
// executor's opens) pays it before its first request.
import { PNG } from 'pngjs';
import { decodePng } from './image.js';
import { readText, type Run } from './pipelines.js';

const WIDTH = 96;
const HEIGHT = 32;

/** A dark word on a light background, as PNG bytes (pngjs encodes it: the decoder's path is warmed too). */
function syntheticPng(): Uint8Array {
  const png = new PNG({ width: WIDTH, height: HEIGHT });
  for (let p = 0; p < WIDTH * HEIGHT; p++) {
    const x = p % WIDTH;
    const y = (p - x) / WIDTH;
    const ink = x > WIDTH / 4 && x < (3 * WIDTH) / 4 && y > HEIGHT / 4 && y < (3 * HEIGHT) / 4;
    png.data.fill(ink ? 20 : 235, p * 4, p * 4 + 3);
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

/** Recognition stand-in: a few steps of class scores that decode to a short text. */
const recStandIn: Run = async () => {
  const steps = 8;
  const classes = 4;
  const probs = new Float32Array(steps * classes);
  for (let t = 0; t < steps; t++) probs[t * classes + (t % classes)] = 1;
  return { probs: { data: probs, dims: [1, steps, classes] } };
};

/** Runs decodePng and readText once on synthetic data (no model). Resolves to the number of lines it read (1). */
export async function warmUpHandlers(): Promise<number> {
  const lines = await readText(decodePng(syntheticPng()), detStandIn, recStandIn, ['a', 'b', 'c']);
  return lines.length;
}
