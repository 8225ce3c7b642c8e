// Model inputs for benchmarks, built identically in every process from an
// InputSpec (protocol.ts): token ids for the encoder, deterministic floats for
// the CNN, and a real word image for the PaddleOCR recognizer.
import { readFileSync } from 'node:fs';
import { TensorshareError } from '../errors.js';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { seededFloats, seededRandom } from '../prng.js';
import type { InputSpec } from './protocol.js';

export interface PlainInput {
  name: string;
  dtype: 'float32' | 'int64';
  shape: number[];
  data: Float32Array | BigInt64Array;
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Deterministic token ids in [1, vocab): a fixed seed, so every process feeds the same sequence. */
export function tokenIds(n: number, vocab: number): BigInt64Array {
  if (!(vocab >= 2)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `token input needs vocab >= 2, got ${vocab}`);
  const out = new BigInt64Array(n);
  const rand = seededRandom(12345);
  for (let i = 0; i < n; i++) out[i] = BigInt(1 + Math.floor(rand() * (vocab - 1)));
  return out;
}

/** Builds plain input arrays from their specs. */
export async function buildInputs(specs: readonly InputSpec[]): Promise<PlainInput[]> {
  const out: PlainInput[] = [];
  for (const s of specs) {
    const n = count(s.shape);
    switch (s.fill) {
      case 'tokens':
        if (s.dtype !== 'int64')
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `input ${s.name}: tokens must be int64`);
        out.push({ ...s, data: tokenIds(n, s.vocab ?? 1000) });
        break;
      case 'ones':
      case 'zeros': {
        const v = s.fill === 'ones' ? 1 : 0;
        out.push({
          ...s,
          data: s.dtype === 'int64' ? new BigInt64Array(n).fill(BigInt(v)) : new Float32Array(n).fill(v),
        });
        break;
      }
      case 'random':
        if (s.dtype !== 'float32')
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `input ${s.name}: random must be float32`);
        out.push({ ...s, data: seededFloats(n, 7) });
        break;
      case 'ocr-word':
        out.push({ ...s, data: await ocrWord(s.shape) });
        break;
    }
  }
  return out;
}

async function ocrWord(shape: readonly number[]): Promise<Float32Array> {
  const { decodePng } = await import('../handlers/image.js');
  const { recInput } = await import('../handlers/ocr.js');
  const one = recInput(decodePng(readFileSync(path.join(packageRoot, 'assets', 'ocr-word.png'))));
  const [b, c, h, w] = shape as [number, number, number, number];
  if (shape.length !== 4 || c !== one.shape[1] || h !== one.shape[2] || w !== one.shape[3]) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `ocr-word input is [1,${one.shape.slice(1).join(',')}] per item; asked for [${shape.join(',')}]`,
    );
  }
  const out = new Float32Array(count(shape));
  for (let i = 0; i < b; i++) out.set(one.data, i * one.data.length);
  return out;
}
