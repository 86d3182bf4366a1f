// The TypeScript sampler against the factory's golden file (public/models/soundstep-small/golden.json):
// schedule, grids and a 4-step guided trajectory replayed by sample() itself, the network being
// the stored outputs. Fails (does not skip) when the pack is missing.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Golden, GoldenTrajectory } from '../runtime/golden';
import { loadGolden, maxAbsDiff } from '../testing/pack';
import { sample, sampleStep, type Denoise } from './sample';
import { alphasCumprod, nextTimestep, trailingGrid } from './schedule';

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

/**
 * The network replayed from golden.json: [v_cond[k]; v_uncond[k]] at tau_k, after checking the
 * sampler asks for both rows of the stored z. `swap` hands the rows back the wrong way round.
 */
function storedNetwork(t: GoldenTrajectory, swap = false): Denoise {
  return (zRows, timestep, rows) => {
    const k = t.timesteps.indexOf(timestep);
    expect(k, `timestep ${timestep}`).toBeGreaterThanOrEqual(0);
    expect(rows).toBe(2);
    const size = t.noise.length;
    const z = k === 0 ? t.noise : t.z[k - 1]!;
    if (!swap) expect(maxAbsDiff(zRows.subarray(0, size), z), `z given to the network at step ${k}`).toBeLessThan(1e-5);
    expect(maxAbsDiff(zRows.subarray(size), zRows.subarray(0, size))).toBe(0);
    const out = new Float32Array(2 * size);
    out.set(swap ? t.v_uncond[k]! : t.v_cond[k]!);
    out.set(swap ? t.v_cond[k]! : t.v_uncond[k]!, size);
    return out;
  };
}

/** sample() from the stored noise with the stored network: max abs error against the stored z after each step. */
async function replay(t: GoldenTrajectory, swap = false): Promise<number[]> {
  const errors: number[] = [];
  const noise = Float32Array.from(t.noise);
  await sample(storedNetwork(t, swap), noise, t.timesteps, alphasCumprod(), t.guidance_scale, (k, z) => {
    errors.push(maxAbsDiff(z, t.z[k]!));
  });
  return errors;
}

/** sampleStep() from each stored previous z: max abs error against the stored z after it. */
async function singleSteps(t: GoldenTrajectory, swap = false): Promise<number[]> {
  const abar = alphasCumprod();
  const errors: number[] = [];
  for (let k = 0; k < t.steps; k++) {
    const prev = Float32Array.from(k === 0 ? t.noise : t.z[k - 1]!);
    const s = nextTimestep(t.timesteps, k);
    const z = await sampleStep(storedNetwork(t, swap), prev, t.timesteps[k]!, s, abar, t.guidance_scale);
    errors.push(maxAbsDiff(z, t.z[k]!));
  }
  return errors;
}

const Z_TOLERANCE = 1e-5;

describe('golden.json: sample() replays the trajectory from the stored noise and network outputs', () => {
  it(`matches the stored z after every step to ${Z_TOLERANCE} (chained from the stored noise)`, async () => {
    const errors = await replay(golden.trajectory);
    expect(errors.length).toBe(golden.trajectory.steps);
    errors.forEach((err, k) => expect(err, `step ${k} (t = ${golden.trajectory.timesteps[k]})`).toBeLessThan(Z_TOLERANCE));
  });

  it(`each single step (sampleStep) from the stored previous z matches to ${Z_TOLERANCE}`, async () => {
    const errors = await singleSteps(golden.trajectory);
    errors.forEach((err, k) => expect(err, `step ${k}`).toBeLessThan(Z_TOLERANCE));
  });

  it('detects swapped cond/uncond rows: the replay then misses the stored z', async () => {
    // Swapping gives g_c + s (g_u - g_c) instead of g_u + s (g_c - g_u) (E20): this test is
    // the one that fails if sample() puts the empty prompt's row first.
    const chained = await replay(golden.trajectory, true);
    const single = await singleSteps(golden.trajectory, true);
    console.info(`swapped rows: worst z error ${Math.max(...chained).toExponential(2)} (chained), ${Math.max(...single).toExponential(2)} (single steps)`);
    expect(Math.max(...chained)).toBeGreaterThan(100 * Z_TOLERANCE);
    single.forEach((err, k) => expect(err, `step ${k}`).toBeGreaterThan(Z_TOLERANCE));
  });
});
