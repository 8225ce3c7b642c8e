/** Float32 values of many bit patterns (NaN, infinities, -0, subnormals, large and small numbers), from a seeded LCG. */
export function floatBitPatterns(n: number, seed = 12345): Float32Array {
  const bits = new Uint32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    bits[i] = s;
  }
  return new Float32Array(bits.buffer);
}
