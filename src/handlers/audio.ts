import { TensorshareError } from '../errors.js';
import { describeBytes } from './payload.js';

/** Mono PCM samples in [-1, 1]. */
export interface Audio {
  sampleRate: number;
  samples: Float32Array;
}

/** Reads a 16-bit PCM WAV (RIFF); multi-channel audio is averaged to mono. */
export function decodeWav(bytes: Uint8Array): Audio {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new TensorshareError('ERR_INVALID_ARGUMENT', `not a supported WAV file: ${why}`);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `expected a WAV file (starting "RIFF", then "WAVE" at byte 8), received ${describeBytes(b)}`);
  }
  let fmt: { channels: number; rate: number; bits: number; format: number } | undefined;
  for (let p = 12; p + 8 <= b.length;) {
    const id = b.toString('ascii', p, p + 4);
    const size = b.readUInt32LE(p + 4);
    const body = p + 8;
    if (id === 'fmt ') {
      if (body + 16 > b.length) throw bad(`fmt chunk is truncated (${b.length} bytes in all)`);
      fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw bad('data chunk before fmt chunk');
      if (fmt.format !== 1 || fmt.bits !== 16) throw bad(`only 16-bit PCM is supported (format ${fmt.format}, ${fmt.bits} bits)`);
      const frames = Math.floor(Math.min(size, b.length - body) / (2 * fmt.channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < fmt.channels; c++) s += b.readInt16LE(body + (i * fmt.channels + c) * 2);
        samples[i] = s / fmt.channels / 32768;
      }
      return { sampleRate: fmt.rate, samples };
    }
    p = body + size + (size & 1);
  }
  throw bad('no data chunk');
}
