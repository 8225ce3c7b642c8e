import { TensorshareError } from '../errors.js';
import { describeBytes } from './payload.js';

/** Mono PCM samples in [-1, 1]. */
export interface Audio {
  sampleRate: number;
  samples: Float32Array;
}

/** Ten minutes at 16 kHz. */
export const DEFAULT_MAX_AUDIO_SAMPLES = 16_000 * 600;

export interface AudioLimits {
  /** Most frames (samples per channel) to decode (default DEFAULT_MAX_AUDIO_SAMPLES). */
  maxSamples?: number;
}

/** Reads a 16-bit PCM WAV (RIFF); multi-channel audio is averaged to mono. The header's sample count is checked against `limits` first. */
export function decodeWav(bytes: Uint8Array, limits: AudioLimits = {}): Audio {
  const maxSamples = limits.maxSamples ?? DEFAULT_MAX_AUDIO_SAMPLES;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new TensorshareError('ERR_INVALID_ARGUMENT', `not a supported WAV file: ${why}`);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `expected a WAV file (starting "RIFF", then "WAVE" at byte 8), received ${describeBytes(b)}`,
    );
  }
  let fmt: { channels: number; rate: number; bits: number; format: number } | undefined;
  for (let p = 12; p + 8 <= b.length; ) {
    const id = b.toString('ascii', p, p + 4);
    const size = b.readUInt32LE(p + 4);
    const body = p + 8;
    if (id === 'fmt ') {
      if (body + 16 > b.length) throw bad(`fmt chunk is truncated (${b.length} bytes in all)`);
      fmt = {
        format: b.readUInt16LE(body),
        channels: b.readUInt16LE(body + 2),
        rate: b.readUInt32LE(body + 4),
        bits: b.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw bad('data chunk before fmt chunk');
      if (fmt.format !== 1 || fmt.bits !== 16)
        throw bad(`only 16-bit PCM is supported (format ${fmt.format}, ${fmt.bits} bits)`);
      if (fmt.channels === 0 || fmt.rate === 0) throw bad(`${fmt.channels} channels at ${fmt.rate} Hz`);
      const frames = Math.floor(Math.min(size, b.length - body) / (2 * fmt.channels));
      if (frames > maxSamples) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `WAV audio has ${frames} samples (${(frames / fmt.rate).toFixed(1)} s at ${fmt.rate} Hz), over the limit of ${maxSamples} samples; send a shorter recording`,
          { samples: frames, sampleRate: fmt.rate, maxSamples },
        );
      }
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
