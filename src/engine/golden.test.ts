// The TypeScript sampler against the factory's golden file (public/models/soundstep-small/golden.json):
// schedule, grids and a 4-step guided trajectory replayed from the stored network outputs.
// Fails (does not skip) when the pack is missing.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Golden } from '../runtime/golden';
import { loadGolden, maxAbsDiff } from '../testing/pack';
import { ddimStepV } from './ddim';
import { guide } from './guidance';
import { alphaSigma, alphasCumprod, nextTimestep, trailingGrid } from './schedule';

let golden: Golden;
beforeAll(() => {
  golden = loadGolden();
});

describe('golden.json: schedule and grids', () => {
  it('alphas_cumprod matches to 1e-6 relative', () => {
    const abar = alphasCumprod();
    expect(golden.alphas_cumprod.length).toBe(1000);
    let worst = 0;
    golden.alphas_cumprod.forEach((g, t) => (worst = Math.max(worst, Math.abs(abar[t]! - g) / g)));
    expect(worst).toBeLessThan(1e-6);
  });

  it('every stored grid is exactly trailingGrid(N)', () => {
    const sizes = Object.keys(golden.grids);
    expect(sizes.length).toBeGreaterThan(0);
    for (const n of sizes) expect(trailingGrid(Number(n))).toEqual(golden.grids[n]);
  });

  it('the trajectory ran on trailingGrid(steps)', () => {
    const t = golden.trajectory;
    expect(t.timesteps).toEqual(trailingGrid(t.steps));
  });
});

describe('golden.json: the trajectory replayed through guide + ddimStepV', () => {
  it('matches the stored z after every step to 1e-5 (chained from the stored noise)', () => {
    const t = golden.trajectory;
    const abar = alphasCumprod();
    let z: Float32Array = Float32Array.from(t.noise);
    for (let k = 0; k < t.steps; k++) {
      const v = guide(Float32Array.from(t.v_uncond[k]!), Float32Array.from(t.v_cond[k]!), t.guidance_scale); // E20
      const at = alphaSigma(abar, t.timesteps[k]!);
      const as = alphaSigma(abar, nextTimestep(t.timesteps, k));
      z = ddimStepV(z, v, at.alpha, at.sigma, as.alpha, as.sigma); // E7
      const err = maxAbsDiff(z, t.z[k]!);
      expect(err, `step ${k} (t = ${t.timesteps[k]})`).toBeLessThan(1e-5);
    }
  });

  it('each single step from the stored previous z matches to 1e-5', () => {
    const t = golden.trajectory;
    const abar = alphasCumprod();
    for (let k = 0; k < t.steps; k++) {
      const prev = Float32Array.from(k === 0 ? t.noise : t.z[k - 1]!);
      const v = guide(Float32Array.from(t.v_uncond[k]!), Float32Array.from(t.v_cond[k]!), t.guidance_scale);
      const at = alphaSigma(abar, t.timesteps[k]!);
      const as = alphaSigma(abar, nextTimestep(t.timesteps, k));
      expect(maxAbsDiff(ddimStepV(prev, v, at.alpha, at.sigma, as.alpha, as.sigma), t.z[k]!)).toBeLessThan(1e-5);
    }
  });
});
