// The one seeded pseudo-random number generator: synthetic weights (src/gen),
// benchmark load schedules and inputs (src/bench), filled-in tensors
// (src/client). xoshiro128** is used because it is fast in plain JS (32-bit
// integer ops only, ~1.5 ns/value) and its output does not depend on how a
// tensor is split into chunks, so the bytes written depend only on (seed,
// element index). Not for anything that needs unpredictability.

/** FNV-1a over UTF-16 code units, then a murmur3 finalizer for avalanche. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** splitmix32 step: expands one 32-bit seed into well-mixed state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** generator whose state advances across calls. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A string seed is hashed; a number seed is used as its low 32 bits. */
  constructor(seed: string | number) {
    const st = { s: typeof seed === 'string' ? hashString(seed) : seed >>> 0 };
    this.s0 = splitmix32(st);
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st);
    this.s3 = splitmix32(st);
    // An all-zero state would be a fixed point; splitmix makes that
    // practically impossible, but guard anyway.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next value as a signed 32-bit integer. */
  nextInt32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return r;
  }

  /** Next value uniform in [0, 1). */
  nextFloat(): number {
    return (this.nextInt32() >>> 0) / 2 ** 32;
  }

  /**
   * Fills out[0..n) with center + scale * u, u uniform in [-1, 1).
   * The loop keeps the state in locals: ~5x faster than calling nextInt32().
   */
  fillUniform(out: Float32Array, n: number, scale: number, center: number): void {
    let s0 = this.s0,
      s1 = this.s1,
      s2 = this.s2,
      s3 = this.s3;
    const k = scale * 2 ** -31;
    for (let i = 0; i < n; i++) {
      const m = Math.imul(s1, 5);
      const r = Math.imul((m << 7) | (m >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = center + r * k;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }
}

/** A function returning the generator's next value in [0, 1). */
export function seededRandom(seed: string | number): () => number {
  const rng = new Xoshiro128(seed);
  return () => rng.nextFloat();
}

/** `count` floats uniform in [-scale, scale). */
export function seededFloats(count: number, seed: string | number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  new Xoshiro128(seed).fillUniform(out, count, scale, 0);
  return out;
}
