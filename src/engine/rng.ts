// A seeded Gaussian RNG that gives the same numbers in every JavaScript engine we ship to.
//
// Algorithm (documented so another implementation can reproduce it):
//   1. seed -> (lo, hi) 32-bit halves (seed must be an integer in [0, 2^53)).
//   2. splitmix32 (Vigna's splitmix64 reduced to 32 bits, constants 0x9e3779b9, 0x21f0aaad,
//      0x735a2d97) started at lo gives four words s0..s3; s1 ^= hi.
//   3. xoshiro128** (Blackman & Vigna 2018) from (s0, s1, s2, s3) gives uint32 words u.
//   4. uniforms U = (u + 0.5) / 2^32, strictly inside (0, 1).
//   5. Box-Muller: from (U1, U2), r = sqrt(-2 ln U1), theta = 2 pi U2, the pair
//      (r cos theta, r sin theta); values are taken in that order and rounded to float32.
// Integer steps use Math.imul and >>> only, so they are exact everywhere; Math.log/cos/sin
// follow V8's fdlibm port, identical in Chrome and Node (other engines may differ in the
// last float32 bit in rare cases).

const TWO_POW_32 = 4294967296;

/** splitmix32 stream: each call returns the next uint32. */
export function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return t >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** xoshiro128** generator over a 128-bit state; each call returns the next uint32. */
export function xoshiro128ss(s0: number, s1: number, s2: number, s3: number): () => number {
  let a = s0 | 0;
  let b = s1 | 0;
  let c = s2 | 0;
  let d = s3 | 0;
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result >>> 0;
  };
}

/** The uint32 stream for a seed (steps 1-3 above). */
export function seededUint32(seed: number): () => number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  const sm = splitmix32(lo);
  const s0 = sm();
  const s1 = sm() ^ hi;
  const s2 = sm();
  const s3 = sm();
  return xoshiro128ss(s0, s1, s2, s3);
}

/** n samples of N(0, 1) as float32, a pure function of (seed, n) (steps 1-5 above). */
export function gaussianNoise(seed: number, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sample count must be a non-negative integer, got ${n}`);
  const next = seededUint32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = (next() + 0.5) / TWO_POW_32;
    const u2 = (next() + 0.5) / TWO_POW_32;
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
