// A bounded digest of a set of SHA-256 hashes: a Bloom filter whose bit
// positions are slices of the hashes themselves (they are already uniform),
// so a node's summary stays a few KiB however many tensors it holds. A
// lookup may say "present" for an absent hash (rarely; the false-positive
// rate is in the digest), never "absent" for a present one: the scheduler
// only ranks by it, and a peer asked for a tensor it lacks answers 404.
import { TensorshareError } from '../errors.js';
import { isSha256 } from '../store/layout.js';

export interface HashSetDigest {
  /** Bits in the filter (a power of two). */
  bits: number;
  /** Bit positions per hash. */
  k: number;
  /** Hashes put in. */
  count: number;
  /** The filter, base64. */
  filter: string;
}

const MIN_BITS = 1024;
/** 16 KiB: about 13,000 hashes at a 1% false-positive rate. */
export const MAX_BITS = 2 ** 17;
const BITS_PER_HASH = 10;
const K = 7;

/** Bit positions of a hash: K 24-bit slices of its hex digits, masked to the filter's size. */
function positions(hash: string, bits: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < K; i++) out.push(Number.parseInt(hash.slice(i * 6, i * 6 + 6), 16) & (bits - 1));
  return out;
}

export function digestHashes(hashes: Iterable<string>, maxBits = MAX_BITS): HashSetDigest {
  const list = [...new Set(hashes)];
  let bits = MIN_BITS;
  while (bits < list.length * BITS_PER_HASH && bits < maxBits) bits *= 2;
  const filter = Buffer.alloc(bits / 8);
  for (const h of list) {
    if (!isSha256(h)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `'${h}' is not a SHA-256 hex digest`);
    for (const p of positions(h, bits)) filter[p >> 3]! |= 1 << (p & 7);
  }
  return { bits, k: K, count: list.length, filter: filter.toString('base64') };
}

/** A membership test over a digest (checked: a digest from the network may be anything). */
export function hashSetLookup(d: HashSetDigest): (hash: string) => boolean {
  const filter = Buffer.from(typeof d?.filter === 'string' ? d.filter : '', 'base64');
  const bits = d?.bits;
  if (
    !Number.isInteger(bits) ||
    bits < 8 ||
    bits > MAX_BITS ||
    (bits & (bits - 1)) !== 0 ||
    filter.length !== bits / 8 ||
    d.k !== K
  )
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `hash-set digest is malformed (bits ${String(bits)}, k ${String(d?.k)}, ${filter.length} filter bytes)`,
    );
  return (hash) => isSha256(hash) && positions(hash, bits).every((p) => (filter[p >> 3]! & (1 << (p & 7))) !== 0);
}

/** The expected false-positive rate of a digest: (1 - e^(-k n / m))^k. */
export function falsePositiveRate(d: Pick<HashSetDigest, 'bits' | 'k' | 'count'>): number {
  return (1 - Math.exp((-d.k * d.count) / d.bits)) ** d.k;
}
