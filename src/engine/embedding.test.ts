import { describe, expect, it } from 'vitest';
import { cosine, meanPool, nearest } from './embedding';

describe('meanPool', () => {
  it('averages the real tokens of each row and skips the padding', () => {
    // 2 rows x 3 tokens x 2 hidden; row 0 has 2 tokens, row 1 one token, the padding holds junk
    const hidden = Float32Array.from([1, 2, 3, 4, 99, 99, 5, 6, 99, 99, 99, 99]);
    const mask = BigInt64Array.from([1n, 1n, 0n, 1n, 0n, 0n]);
    expect(meanPool(hidden, mask, 2, 2).map((v) => Array.from(v))).toEqual([[2, 3], [5, 6]]);
    expect(Array.from(meanPool(Float32Array.from([7, 7]), BigInt64Array.from([0n]), 1, 2)[0]!)).toEqual([0, 0]);
    expect(() => meanPool(new Float32Array(5), mask, 2, 2)).toThrow(RangeError);
  });
});

describe('cosine and nearest', () => {
  it('is 1 for the same direction, 0 for orthogonal, -1 opposite, 0 for a zero vector', () => {
    const a = Float32Array.from([1, 2]);
    expect(cosine(a, Float32Array.from([2, 4]))).toBeCloseTo(1, 12);
    expect(cosine(a, Float32Array.from([-2, 1]))).toBe(0);
    expect(cosine(a, Float32Array.from([-1, -2]))).toBeCloseTo(-1, 12);
    expect(cosine(a, new Float32Array(2))).toBe(0);
    expect(cosine(Float32Array.from([1, 0]), Float32Array.from([1, 1]))).toBeCloseTo(Math.SQRT1_2, 7);
  });

  it('finds the most similar row', () => {
    const rows = [Float32Array.from([0, 1]), Float32Array.from([1, 1]), Float32Array.from([1, 0.1])];
    expect(nearest(Float32Array.from([1, 0]), rows)).toEqual({ index: 2, similarity: cosine(Float32Array.from([1, 0]), rows[2]!) });
    expect(nearest(Float32Array.from([1, 0]), [])).toBeNull();
  });
});
