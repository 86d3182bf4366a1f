import { describe, expect, it } from 'vitest';
import { alphaSigma, alphasCumprod, FINAL, nextTimestep, snr, trailingGrid } from './schedule';

describe('alphasCumprod (E2)', () => {
  const abar = alphasCumprod();

  it('has 1000 float64 values, strictly decreasing from 1 - beta_0', () => {
    expect(abar).toBeInstanceOf(Float64Array);
    expect(abar.length).toBe(1000);
    expect(abar[0]).toBeCloseTo(1 - 0.00085, 15);
    for (let t = 1; t < 1000; t++) expect(abar[t]!).toBeLessThan(abar[t - 1]!);
  });

  it('matches the known Stable Diffusion value abar_999 = 0.00466', () => {
    expect(abar[999]).toBeCloseTo(0.0046601, 6);
  });

  it('alpha^2 + sigma^2 = 1, and FINAL gives (1, 0)', () => {
    for (const t of [0, 1, 250, 500, 999]) {
      const { alpha, sigma } = alphaSigma(abar, t);
      expect(alpha * alpha + sigma * sigma).toBeCloseTo(1, 14);
    }
    expect(alphaSigma(abar, FINAL)).toEqual({ alpha: 1, sigma: 0 });
    expect(() => alphaSigma(abar, 1000)).toThrow(RangeError);
    expect(() => alphaSigma(abar, -2)).toThrow(RangeError);
  });

  it('SNR falls below 5 near t = 150 (docs/sampling.md E2)', () => {
    const first = abar.findIndex((_, t) => snr(abar, t) < 5);
    expect(first).toBeGreaterThan(100);
    expect(first).toBeLessThan(200);
    expect(snr(abar, 0)).toBeCloseTo(0.99915 / 0.00085, 6);
  });
});

describe('trailingGrid (E8)', () => {
  it('N = 200 is 999, 994, ..., 4', () => {
    const g = trailingGrid(200);
    expect(g.length).toBe(200);
    expect(g[0]).toBe(999);
    expect(g[1]).toBe(994);
    expect(g[199]).toBe(4);
    expect(trailingGrid(4)).toEqual([999, 749, 499, 249]);
    expect(trailingGrid(1)).toEqual([999]);
  });

  it('nests: tau^N = tau^(2N)[0::2] for every N with 2N dividing 1000', () => {
    for (const n of [1, 2, 4, 5, 10, 20, 25, 50, 100, 125, 250, 500]) {
      const fine = trailingGrid(2 * n);
      expect(trailingGrid(n)).toEqual(fine.filter((_, i) => i % 2 === 0));
    }
  });

  it('rounds halves to even like the Python factory (N = 16)', () => {
    const g = trailingGrid(16); // 1000 - k * 62.5: 937.5 -> 938, 812.5 -> 812
    expect(g[1]).toBe(937);
    expect(g[3]).toBe(811);
  });

  it('is strictly descending and ends with FINAL', () => {
    for (const n of [3, 7, 25, 333, 1000]) {
      const g = trailingGrid(n);
      for (let k = 1; k < n; k++) expect(g[k]!).toBeLessThan(g[k - 1]!);
      expect(nextTimestep(g, n - 1)).toBe(FINAL);
      expect(nextTimestep(g, 0)).toBe(n > 1 ? g[1] : FINAL);
    }
    expect(() => trailingGrid(0)).toThrow(RangeError);
    expect(() => trailingGrid(2.5)).toThrow(RangeError);
  });
});
