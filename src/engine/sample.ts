// The sampler loop (docs/sampling.md E7, E8, E20), in the k-diffusion shape: the network is a
// callback, the noise and the grid are arguments, so tests call this very loop with stored
// inputs. Python twin: sample() in factory/soundstep_factory/sampling.py.

import { ddimStepV } from './ddim';
import { guide } from './guidance';
import { alphaSigma, nextTimestep } from './schedule';

/**
 * The network: `rows` copies of z, shape (rows, C, T, F), at integer timestep t -> v of the
 * same shape. With rows = 2 (guided), row 0 takes the prompt and row 1 the unconditional prompt
 * (the empty prompt, or the negative prompt that replaces it).
 * May be async (ONNX Runtime runs are).
 */
export type Denoise = (sample: Float32Array, t: number, rows: 1 | 2) => Promise<Float32Array> | Float32Array;

/** Called after step k (0-based) with z after it. */
export type OnStep = (k: number, z: Float32Array) => void;

/**
 * Replaces z after each step, given the timestep s it now sits at (FINAL after the last step):
 * inpainting's latent masking (latent-edit.ts inpaintConstraint, E21).
 */
export type Constrain = (z: Float32Array, s: number) => Float32Array;

/**
 * DDIM (eta = 0) with a v-prediction network from z = noise at grid[0] to x_hat at FINAL (E7, E8),
 * guided (E20) when `guidance` is given: one denoise call per step either way. `constrain`, when
 * given, replaces z after every step (E21). SDEdit (E22) passes the tail of a grid and its start z.
 */
export async function sample(
  denoise: Denoise,
  noise: Float32Array,
  grid: readonly number[],
  abar: Float64Array,
  guidance?: number,
  onStep?: OnStep,
  constrain?: Constrain,
): Promise<Float32Array> {
  let z = noise;
  for (let k = 0; k < grid.length; k++) {
    const s = nextTimestep(grid, k); // E8: FINAL after the last
    z = await sampleStep(denoise, z, grid[k]!, s, abar, guidance);
    if (constrain) z = constrain(z, s); // E21
    onStep?.(k, z);
  }
  return z;
}

/** One step of sample(): the (guided) v at t, then DDIM from t to s (E20, E7). */
export async function sampleStep(
  denoise: Denoise,
  z: Float32Array,
  t: number,
  s: number,
  abar: Float64Array,
  guidance?: number,
): Promise<Float32Array> {
  let v: Float32Array;
  if (guidance === undefined) {
    v = checked(await denoise(z, t, 1), z.length, 1);
  } else {
    // classifier-free guidance (E20): 1. batch cond and uncond, 2. split, 3. combine
    const out = checked(await denoise(repeatRows(z, 2), t, 2), z.length, 2); // rows: [cond, uncond]
    const [vCond, vUncond] = [out.subarray(0, z.length), out.subarray(z.length)];
    v = guide(vUncond, vCond, guidance);
  }
  const { alpha: alphaT, sigma: sigmaT } = alphaSigma(abar, t);
  const { alpha: alphaS, sigma: sigmaS } = alphaSigma(abar, s);
  return ddimStepV(z, v, alphaT, sigmaT, alphaS, sigmaS); // E7
}

function checked(v: Float32Array, size: number, rows: number): Float32Array {
  if (v.length !== rows * size) throw new RangeError(`denoise returned ${v.length} values, expected ${rows} x ${size}`);
  return v;
}

/** `rows` copies of x, one after the other: (C, T, F) -> (rows, C, T, F). */
function repeatRows(x: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(x.length * rows);
  for (let r = 0; r < rows; r++) out.set(x, r * x.length);
  return out;
}
