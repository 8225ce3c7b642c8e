// Reads a trace file of any supported format (gzip or plain), detecting the
// format from the content unless told.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TensorshareError } from '../../errors.js';
import type { AllocTrace } from './trace.js';
import { parseJsonTrace, JSON_FORMAT } from './trace-json.js';
import { parsePytorchSnapshot } from './trace-pytorch.js';
import { parseTensorflowLog, TF_LABEL } from './trace-tensorflow.js';

export const INPUT_FORMATS = ['auto', 'tensorflow', 'pytorch', 'json'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The file's name without folders and without .gz/.json/.jsonl/.log/.txt endings. */
export function traceName(file: string): string {
  return path.basename(file).replace(/(\.(gz|json|jsonl|log|txt))+$/, '');
}

export function detectFormat(text: string): Exclude<InputFormat, 'auto'> {
  if (text.includes(TF_LABEL)) return 'tensorflow';
  const first = text.slice(0, text.indexOf('\n') < 0 ? text.length : text.indexOf('\n')).trim();
  if (/^\{\s*"op"\s*:/.test(first) || first.includes(`"${JSON_FORMAT}"`)) return 'json';
  if (text.trimStart().startsWith('{')) return 'pytorch';
  throw new TensorshareError(
    'ERR_INVALID_ARGUMENT',
    `cannot tell the trace format: no ${TF_LABEL} line, not JSON lines of ${JSON_FORMAT}, not a PyTorch snapshot`,
  );
}

export function parseTrace(text: string, file: string, format: InputFormat = 'auto'): AllocTrace {
  const f = format === 'auto' ? detectFormat(text) : format;
  const t =
    f === 'tensorflow'
      ? parseTensorflowLog(text, file)
      : f === 'pytorch'
        ? parsePytorchSnapshot(text, file)
        : parseJsonTrace(text, file);
  if (t.name === file) t.name = traceName(file);
  return t;
}

export function readTrace(file: string, format: InputFormat = 'auto'): AllocTrace {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `cannot read trace ${file}: ${(e as Error).message}`, { file });
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return parseTrace(bytes.toString('utf8'), file, format);
}
