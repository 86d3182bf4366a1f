// sample() and sampleStep() on toy networks (docs/sampling.md E7, E8, E20); golden.test.ts
// replays the factory's stored trajectory through the same functions.
import { describe, expect, it } from 'vitest';
import { maxAbsDiff } from '../testing/pack';
import { qSample, vFromXEps } from './ddim';
import { guide } from './guidance';
import { gaussianNoise } from './rng';
import { sample, sampleStep, type Denoise } from './sample';
import { alphaSigma, alphasCumprod, FINAL, trailingGrid } from './schedule';

const abar = alphasCumprod();
/** a fixed clean latent and its noise (4096 values) */
const [x, eps] = [gaussianNoise(1, 4096).map((v) => 0.5 * v + 0.1), gaussianNoise(2, 4096)];
const maxAbs = maxAbsDiff;

/** The exact v of the fixed (x, eps) at t (E5): an oracle network, unguided. */
const oracle: Denoise = (_z, t) => {
  const { alpha, sigma } = alphaSigma(abar, t);
  return vFromXEps(x, eps, alpha, sigma);
};

/** A smooth toy network whose output depends on the row (row 0: prompt, row 1: empty prompt) and on t. */
const toy: Denoise = (z, t, rows) => {
  const size = z.length / rows;
  return z.map((zi, i) => Math.tanh(zi) * (1 + t / 1000) + (i < size ? 0.3 : -0.2));
};

describe('sample (E7, E8)', () => {
  it('with the exact v of a fixed x, a full trajectory ends exactly at x (deterministic sampler)', async () => {
    for (const steps of [1, 4, 25]) {
      const grid = trailingGrid(steps);
      const a0 = alphaSigma(abar, grid[0]!);
      const z = await sample(oracle, qSample(x, eps, a0.alpha, a0.sigma), grid, abar);
      expect(maxAbs(z, x)).toBeLessThan(1e-5);
    }
  });

  it('calls the network once per step at each grid timestep, and reports each step', async () => {
    const grid = trailingGrid(5);
    const calls: Array<[number, number]> = [];
    const seen: number[] = [];
    const denoise: Denoise = async (z, t, rows) => {
      calls.push([t, rows]);
      return toy(z, t, rows);
    };
    const last: Float32Array[] = [];
    const z = await sample(denoise, gaussianNoise(3, 64), grid, abar, undefined, (k, zk) => {
      seen.push(k);
      last[0] = zk;
    });
    expect(calls).toEqual(grid.map((t) => [t, 1]));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(last[0]).toBe(z);
  });

  it('the last step goes to FINAL and returns x_hat = alpha z - sigma v (E4)', async () => {
    const z = gaussianNoise(4, 64);
    const { alpha, sigma } = alphaSigma(abar, 249);
    const v = toy(z, 249, 1) as Float32Array;
    const out = await sampleStep(toy, z, 249, FINAL, abar);
    expect(maxAbs(out, z.map((zi, i) => alpha * zi - sigma * v[i]!))).toBeLessThan(1e-6);
  });

  it('refuses a network output of the wrong size', async () => {
    const bad: Denoise = (z) => z.subarray(1);
    await expect(sample(bad, new Float32Array(8), [999], abar)).rejects.toThrow(/denoise returned 7 values, expected 1 x 8/);
    await expect(sample(() => new Float32Array(8), new Float32Array(8), [999], abar, 3)).rejects.toThrow(/expected 2 x 8/);
  });
});

describe('sample with classifier-free guidance (E20)', () => {
  it('asks for two identical rows (prompt, then empty prompt) and combines them as g_u + s (g_c - g_u)', async () => {
    const z = gaussianNoise(5, 64);
    let given = new Float32Array(0);
    const spy: Denoise = (sampleRows, t, rows) => {
      given = sampleRows.slice();
      return toy(sampleRows, t, rows);
    };
    const out = await sampleStep(spy, z, 749, 499, abar, 3);
    expect(given.length).toBe(128);
    expect(maxAbs(given.subarray(0, 64), z)).toBe(0);
    expect(maxAbs(given.subarray(64), z)).toBe(0);
    const both = toy(given, 749, 2) as Float32Array;
    const v = guide(both.subarray(64), both.subarray(0, 64), 3);
    const unguided = await sampleStep(() => v, z, 749, 499, abar);
    expect(maxAbs(out, unguided)).toBe(0);
  });

  it('at scale 1 equals the unguided sampler on the conditional row alone', async () => {
    const grid = trailingGrid(4);
    const noise = gaussianNoise(6, 64);
    const guided = await sample(toy, noise, grid, abar, 1);
    const condOnly = await sample(toy, noise, grid, abar); // one row: the toy's conditional branch
    expect(maxAbs(guided, condOnly)).toBeLessThan(1e-6);
  });
});
