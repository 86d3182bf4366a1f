// The latent-editing math (docs/sampling.md E21, E22) on small arrays with known answers.
import { describe, expect, it } from 'vitest';
import { frameMask, framesOfRange, keepOutsideMask, noised, sdeditStartIndex, sdeditStartLatent } from './latent-edit';
import { alphaSigma, alphasCumprod, FINAL, trailingGrid } from './schedule';

const shape = { channels: 2, frames: 8, bins: 3 };
const ramp = (n: number, k = 1): Float32Array => Float32Array.from({ length: n }, (_, i) => k * (i + 1));

describe('framesOfRange', () => {
  it('covers the selection, rounded outwards, inside the clip', () => {
    // 64 latent frames over 2.56 s: 25 frames per second
    expect(framesOfRange(0.64, 1.28, 2.56, 64)).toEqual({ start: 16, end: 32 });
    expect(framesOfRange(0.65, 1.27, 2.56, 64)).toEqual({ start: 16, end: 32 });
    expect(framesOfRange(-1, 9, 2.56, 64)).toEqual({ start: 0, end: 64 });
    expect(framesOfRange(1, 1, 2.56, 64)).toEqual({ start: 25, end: 26 }); // never empty
  });
});

describe('frameMask', () => {
  it('is 1 on the range’s frames of every channel and 0 elsewhere', () => {
    const m = frameMask(shape, { start: 2, end: 4 });
    const at = (c: number, t: number, f: number): number => m[(c * 8 + t) * 3 + f]!;
    expect(m.reduce((a, b) => a + b, 0)).toBe(2 * 2 * 3);
    for (const c of [0, 1]) for (const f of [0, 1, 2]) {
      expect([1, 2, 3, 4].map((t) => at(c, t, f))).toEqual([0, 1, 1, 0]);
    }
  });
});

describe('keepOutsideMask (E21)', () => {
  const n = 2 * 8 * 3;
  const z = ramp(n, -1);
  const kept = ramp(n, 0.5);
  const eps = ramp(n, 0.01);
  const mask = frameMask(shape, { start: 3, end: 5 });

  it('keeps z inside and puts alpha * kept + sigma * eps outside', () => {
    const out = keepOutsideMask(z, mask, kept, eps, 0.6, 0.8);
    for (let i = 0; i < n; i++) {
      expect(out[i]).toBeCloseTo(mask[i] === 1 ? z[i]! : 0.6 * kept[i]! + 0.8 * eps[i]!, 5);
    }
  });

  it('at FINAL (alpha 1, sigma 0) the outside is the kept latent bit for bit', () => {
    const { alpha, sigma } = alphaSigma(alphasCumprod(), FINAL);
    const out = keepOutsideMask(z, mask, kept, eps, alpha, sigma);
    for (let i = 0; i < n; i++) if (mask[i] === 0) expect(out[i]).toBe(kept[i]);
  });
});

describe('SDEdit start (E22)', () => {
  const abar = alphasCumprod();
  const grid = trailingGrid(25);
  const x = ramp(6, 0.1);
  const eps = ramp(6, -0.2);

  it('runs round(strength * N) of the N steps', () => {
    expect([0, 0.02, 0.5, 0.7, 1].map((s) => sdeditStartIndex(25, s))).toEqual([25, 24, 12, 7, 0]);
    expect(() => sdeditStartIndex(25, 1.5)).toThrow(/strength must be in \[0, 1\]/);
    expect(() => sdeditStartIndex(25, Number.NaN)).toThrow(/strength/);
  });

  it('starts from x itself with no step, from pure noise with every step, else from x noised to grid[start] (E1)', () => {
    expect(Array.from(sdeditStartLatent(x, eps, grid, 25, abar))).toEqual(Array.from(x));
    expect(Array.from(sdeditStartLatent(x, eps, grid, 0, abar))).toEqual(Array.from(eps));
    const { alpha, sigma } = alphaSigma(abar, grid[12]!);
    expect(Array.from(sdeditStartLatent(x, eps, grid, 12, abar))).toEqual(Array.from(noised(x, eps, alpha, sigma)));
    expect(noised(x, eps, alpha, sigma)[0]).toBeCloseTo(alpha * 0.1 - sigma * 0.2, 6);
  });
});
