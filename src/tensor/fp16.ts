// IEEE 754 half precision <-> JS numbers. FP16 tensors are stored as their
// raw bits in a Uint16Array (what onnxruntime-node takes for 'float16').

/** Converts numbers to half-precision bits (round to nearest even, via float32). */
export function numbersToHalf(values: ArrayLike<number>): Uint16Array {
  const f32 = Float32Array.from(values);
  const bits = new Uint32Array(f32.buffer);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToHalf(bits[i]!);
  return out;
}

function float32BitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // below the smallest subnormal: signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry rolls into the exponent, as it should
  return sign | half;
}

export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
