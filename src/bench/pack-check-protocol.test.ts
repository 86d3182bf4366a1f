import { describe, expect, it } from 'vitest';
import { checkSample, checkTokens, relativeMaxError } from './pack-check-protocol';

describe('pack-check inputs and comparison', () => {
  it('gives 8 real tokens, then padding with mask 0', () => {
    const { ids, mask } = checkTokens(12, 0);
    expect(Array.from(ids.slice(0, 3))).toEqual([100n, 137n, 174n]);
    expect(Array.from(ids.slice(8))).toEqual([0n, 0n, 0n, 0n]);
    expect(Array.from(mask)).toEqual([1n, 1n, 1n, 1n, 1n, 1n, 1n, 1n, 0n, 0n, 0n, 0n]);
  });

  it('gives the same latent every time, within [-1, 1]', () => {
    const a = checkSample(64);
    expect(a[1]).toBeCloseTo(Math.sin(0.37), 7);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(1);
    expect(Array.from(checkSample(64))).toEqual(Array.from(a));
  });

  it('measures the largest difference against the largest reference value', () => {
    expect(relativeMaxError(Float32Array.of(1, 2.5, -4), Float32Array.of(1, 2, -4))).toBeCloseTo(0.125, 7);
    expect(relativeMaxError(Float32Array.of(0, 0), Float32Array.of(0, 0))).toBe(0);
    expect(() => relativeMaxError(Float32Array.of(1), Float32Array.of(1, 2))).toThrow(/differ in size: 1 vs 2/);
  });
});
