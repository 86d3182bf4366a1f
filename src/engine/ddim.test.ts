import { describe, expect, it } from 'vitest';
import { ddimStepV, epsFromV, qSample, vFromXEps, xFromV } from './ddim';
import { guide } from './guidance';
import { gaussianNoise } from './rng';
import { alphaSigma, alphasCumprod, FINAL } from './schedule';

const abar = alphasCumprod();
const n = 4096;
const x = gaussianNoise(1, n).map((v) => 0.5 * v + 0.1);
const eps = gaussianNoise(2, n);

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('v-parameterization (E1, E3-E5)', () => {
  it('x_hat and eps_hat from the exact v recover x and eps', () => {
    for (const t of [0, 149, 500, 999]) {
      const { alpha, sigma } = alphaSigma(abar, t);
      const z = qSample(x, eps, alpha, sigma);
      const v = vFromXEps(x, eps, alpha, sigma);
      expect(maxAbs(xFromV(z, v, alpha, sigma), x)).toBeLessThan(2e-6);
      expect(maxAbs(epsFromV(z, v, alpha, sigma), eps)).toBeLessThan(2e-6);
    }
  });
});

describe('ddimStepV (E7)', () => {
  it('with the exact v lands on alpha_s x + sigma_s eps', () => {
    for (const [t, s] of [[999, 749], [749, 499], [994, 989], [249, 4], [4, FINAL]] as const) {
      const at = alphaSigma(abar, t);
      const as = alphaSigma(abar, s);
      const z = qSample(x, eps, at.alpha, at.sigma);
      const v = vFromXEps(x, eps, at.alpha, at.sigma);
      const zs = ddimStepV(z, v, at.alpha, at.sigma, as.alpha, as.sigma);
      expect(maxAbs(zs, qSample(x, eps, as.alpha, as.sigma))).toBeLessThan(3e-6);
    }
  });

  it('a step to FINAL returns x_hat', () => {
    const at = alphaSigma(abar, 249);
    const z = gaussianNoise(3, n);
    const v = gaussianNoise(4, n);
    expect(maxAbs(ddimStepV(z, v, at.alpha, at.sigma, 1, 0), xFromV(z, v, at.alpha, at.sigma))).toBe(0);
  });

  it('equals the second form (sigma_s / sigma_t) z + (alpha_s - (sigma_s / sigma_t) alpha_t) x_hat', () => {
    const at = alphaSigma(abar, 799);
    const as = alphaSigma(abar, 599);
    const z = gaussianNoise(5, n);
    const v = gaussianNoise(6, n);
    const xHat = xFromV(z, v, at.alpha, at.sigma);
    const r = as.sigma / at.sigma;
    const expected = z.map((zi, i) => r * zi + (as.alpha - r * at.alpha) * xHat[i]!);
    expect(maxAbs(ddimStepV(z, v, at.alpha, at.sigma, as.alpha, as.sigma), expected)).toBeLessThan(2e-6);
  });

  it('refuses arrays of different lengths', () => {
    expect(() => ddimStepV(new Float32Array(3), new Float32Array(4), 1, 0, 1, 0)).toThrow(RangeError);
  });
});

describe('guide (E20)', () => {
  const gu = gaussianNoise(7, 64);
  const gc = gaussianNoise(8, 64);

  it('s = 0 gives g_u, s = 1 gives g_c, and is affine in s', () => {
    expect(maxAbs(guide(gu, gc, 0), gu)).toBe(0);
    expect(maxAbs(guide(gu, gc, 1), gc)).toBeLessThan(1e-6);
    const g3 = guide(gu, gc, 3);
    const expected = gu.map((u, i) => u + 3 * (gc[i]! - u));
    expect(maxAbs(g3, expected)).toBeLessThan(1e-6);
  });

  it('guiding in v space equals guiding in x space (coefficients sum to 1)', () => {
    const { alpha, sigma } = alphaSigma(abar, 600);
    const z = gaussianNoise(9, 64);
    const viaV = xFromV(z, guide(gu, gc, 3), alpha, sigma);
    const viaX = guide(xFromV(z, gu, alpha, sigma), xFromV(z, gc, alpha, sigma), 3);
    expect(maxAbs(viaV, viaX)).toBeLessThan(1e-5);
  });
});
