// silero VAD: 16 kHz audio in frames of 512 samples; the model carries an
// LSTM state (h, c) from frame to frame and returns a speech probability.
import type { Audio } from './audio.js';

export const VAD_FRAME = 512;
export const VAD_RATE = 16000;

export interface VadTensors {
  input: { dtype: 'float32'; shape: number[]; data: Float32Array };
  sr: { dtype: 'int64'; shape: number[]; data: BigInt64Array };
  h: { dtype: 'float32'; shape: number[]; data: Float32Array };
  c: { dtype: 'float32'; shape: number[]; data: Float32Array };
}

export function vadFrames(audio: Audio): Float32Array[] {
  const frames: Float32Array[] = [];
  for (let i = 0; i + VAD_FRAME <= audio.samples.length; i += VAD_FRAME)
    frames.push(audio.samples.subarray(i, i + VAD_FRAME));
  return frames;
}

export function vadFeeds(frame: Float32Array, h: Float32Array, c: Float32Array): VadTensors {
  return {
    input: { dtype: 'float32', shape: [1, frame.length], data: frame },
    sr: { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(VAD_RATE)) },
    h: { dtype: 'float32', shape: [2, 1, 64], data: h },
    c: { dtype: 'float32', shape: [2, 1, 64], data: c },
  };
}

export interface Segment {
  startS: number;
  endS: number;
}

/** Merges frames whose probability passes the threshold into speech segments (gaps under minGapS are bridged). */
export function speechSegments(probs: readonly number[], threshold = 0.5, minGapS = 0.25): Segment[] {
  const frameS = VAD_FRAME / VAD_RATE;
  const out: Segment[] = [];
  probs.forEach((p, i) => {
    if (p < threshold) return;
    const start = i * frameS;
    const last = out.at(-1);
    if (last && start - last.endS <= minGapS) last.endS = start + frameS;
    else out.push({ startS: start, endS: start + frameS });
  });
  return out.map((s) => ({ startS: +s.startS.toFixed(3), endS: +s.endS.toFixed(3) }));
}
