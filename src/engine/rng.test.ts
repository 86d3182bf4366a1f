import { describe, expect, it } from 'vitest';
import { gaussianNoise, seededUint32, splitmix32, xoshiro128ss } from './rng';

/** Independent BigInt reference of xoshiro128** (Blackman & Vigna), for a known-answer test. */
function referenceXoshiro(state: [number, number, number, number], count: number): number[] {
  const M = 0xffffffffn;
  const s = state.map((v) => BigInt(v >>> 0));
  const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number((rotl((s[1]! * 5n) & M, 7n) * 9n) & M));
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
  }
  return out;
}

describe('xoshiro128** and splitmix32', () => {
  it('match a BigInt reference implementation', () => {
    const states: Array<[number, number, number, number]> = [
      [1, 2, 3, 4],
      [0xdeadbeef, 0x12345678, 0xffffffff, 0x80000000],
    ];
    for (const state of states) {
      const next = xoshiro128ss(...state);
      const got = Array.from({ length: 1000 }, () => next());
      expect(got).toEqual(referenceXoshiro([...state], 1000));
    }
    expect(xoshiro128ss(1, 2, 3, 4)()).toBe(11520); // rotl(2 * 5, 7) * 9
  });

  it('splitmix32 gives distinct uint32 words', () => {
    const next = splitmix32(0);
    const words = Array.from({ length: 100 }, () => next());
    expect(new Set(words).size).toBe(100);
    for (const w of words) expect(w >>> 0).toBe(w);
  });
});

describe('gaussianNoise', () => {
  it('is a pure function of (seed, n), and a shorter draw is a prefix of a longer one', () => {
    const a = gaussianNoise(42, 4097);
    expect(gaussianNoise(42, 4097)).toEqual(a);
    expect(gaussianNoise(42, 101)).toEqual(a.subarray(0, 101));
    expect(gaussianNoise(43, 16)).not.toEqual(a.subarray(0, 16));
  });

  it('pins the first values for seed 0 (changing them changes every seed of every user)', () => {
    const a = Array.from(gaussianNoise(0, 4));
    const b = Array.from(gaussianNoise(0, 4));
    expect(a).toEqual(b);
    expect(a.map((v) => Number(v.toFixed(6)))).toMatchInlineSnapshot(`
      [
        1.320214,
        0.086981,
        0.819903,
        -0.626921,
      ]
    `);
  });

  it('uses the high bits of large seeds', () => {
    expect(gaussianNoise(2 ** 32, 8)).not.toEqual(gaussianNoise(0, 8));
    expect(gaussianNoise(Number.MAX_SAFE_INTEGER, 8).every(Number.isFinite)).toBe(true);
    expect(() => gaussianNoise(-1, 4)).toThrow(RangeError);
    expect(() => gaussianNoise(1.5, 4)).toThrow(RangeError);
    expect(() => seededUint32(Number.NaN)).toThrow(RangeError);
  });

  it('is approximately N(0, 1) over 1e5 samples', () => {
    const n = 100_000;
    const x = gaussianNoise(123, n);
    let sum = 0;
    let sq = 0;
    let fourth = 0;
    let within1 = 0;
    for (const v of x) {
      sum += v;
      sq += v * v;
      fourth += v ** 4;
      if (Math.abs(v) < 1) within1++;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(0.015); // standard error 0.003
    expect(Math.abs(variance - 1)).toBeLessThan(0.02); // standard error 0.0045
    expect(Math.abs(fourth / n - 3)).toBeLessThan(0.1); // kurtosis of a Gaussian
    expect(Math.abs(within1 / n - 0.6827)).toBeLessThan(0.01);
    expect(x.every(Number.isFinite)).toBe(true);
  });

  it('has no correlation between neighbours (Box-Muller pairs)', () => {
    const x = gaussianNoise(7, 100_000);
    let c = 0;
    for (let i = 0; i + 1 < x.length; i++) c += x[i]! * x[i + 1]!;
    expect(Math.abs(c / x.length)).toBeLessThan(0.015);
  });
});
