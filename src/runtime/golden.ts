// golden.json of a pack ("soundstep-golden/1", docs/pack-format.md): numbers written by the
// factory's Python sampler that the TypeScript tests compare against.

import { PackError } from './errors';
import { GOLDEN_FORMAT } from './pack-types';

export interface GoldenTrajectory {
  denoiser: string;
  prompt: string;
  guidance_scale: number;
  steps: number;
  /** [2, L]: row 0 conditional, row 1 unconditional */
  input_ids: number[][];
  attention_mask: number[][];
  /** [C, T, F] */
  latent_shape: number[];
  /** C*T*F values: z at tau_0 */
  noise: number[];
  timesteps: number[];
  /** [steps][C*T*F]: the network's outputs per step */
  v_cond: number[][];
  v_uncond: number[][];
  /** [steps][C*T*F]: z after each step; the last is x_hat at FINAL */
  z: number[][];
  log_mel_sum: number;
  waveform_rms: number;
}

export interface Golden {
  format: typeof GOLDEN_FORMAT;
  /** abar_t for t = 0..T-1 */
  alphas_cumprod: number[];
  /** trailing grids by step count, e.g. "200", "25", "4" */
  grids: Record<string, number[]>;
  trajectory: GoldenTrajectory;
}

/** Parses golden.json and checks its format and array lengths; PackError naming `file` otherwise. */
export function parseGolden(json: unknown, file = 'golden.json'): Golden {
  const fail = (problem: string): never => {
    throw new PackError(file, problem);
  };
  if (typeof json !== 'object' || json === null) fail('is not a JSON object');
  const g = json as Partial<Golden>;
  if (g.format !== GOLDEN_FORMAT) fail(`unknown format ${JSON.stringify(g.format ?? null)} (expected "${GOLDEN_FORMAT}")`);
  if (!Array.isArray(g.alphas_cumprod)) fail('alphas_cumprod is missing');
  if (typeof g.grids !== 'object' || g.grids === null) fail('grids is missing');
  const t = g.trajectory;
  if (typeof t !== 'object' || t === null) return fail('trajectory is missing');
  const size = (t.latent_shape ?? []).reduce((a, b) => a * b, 1);
  if (!Array.isArray(t.noise) || t.noise.length !== size) fail(`trajectory.noise must hold ${size} values`);
  for (const key of ['v_cond', 'v_uncond', 'z'] as const) {
    const rows = t[key];
    if (!Array.isArray(rows) || rows.length !== t.steps || rows.some((r) => r.length !== size)) {
      fail(`trajectory.${key} must be [${t.steps}][${size}]`);
    }
  }
  if (!Array.isArray(t.timesteps) || t.timesteps.length !== t.steps) fail(`trajectory.timesteps must hold ${t.steps} values`);
  return g as Golden;
}
