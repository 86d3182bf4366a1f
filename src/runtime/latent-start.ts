// Where the denoising of a request starts: pure noise at tau_0 (text-to-audio), the same with
// a result's latent kept outside a range (inpainting, docs/sampling.md E21), or a sound's latent
// noised part-way down the grid (audio-to-audio, E22). The math is src/engine/latent-edit.ts.

import { frameMask, inpaintConstraint, keepOutsideMask, sdeditStartIndex, sdeditStartLatent } from '../engine/latent-edit';
import type { Constrain } from '../engine/sample';
import { alphaSigma } from '../engine/schedule';
import type { LatentEdit } from './api';
import type { Manifest } from './manifest';

/** The arguments of sample() for one request. */
export interface DenoisePlan {
  /** the timesteps to run (a tail of the N-step grid for audio-to-audio) */
  grid: number[];
  /** z at grid[0] */
  start: Float32Array;
  constrain?: Constrain;
}

/**
 * The plan for `edit` on the N-step `grid` with the seed's `noise` (eps). `encoded` is the VAE
 * encoder's latent of an audio edit's waveform (null otherwise).
 */
export function planDenoise(
  m: Manifest,
  grid: number[],
  abar: Float64Array,
  noise: Float32Array,
  edit: LatentEdit | undefined,
  encoded: Float32Array | null,
): DenoisePlan {
  if (!edit) return { grid, start: noise };
  if (edit.kind === 'inpaint') {
    const mask = frameMask(m.latent, { start: edit.startFrame, end: edit.endFrame });
    // E21 at tau_0 too, so the first network call already sees the kept frames at its noise level
    const { alpha, sigma } = alphaSigma(abar, grid[0]!);
    const start = keepOutsideMask(noise, mask, edit.latent, noise, alpha, sigma);
    return { grid, start, constrain: inpaintConstraint(mask, edit.latent, noise, abar) };
  }
  if (!encoded) throw new Error('audio-to-audio needs the encoded latent of its sound');
  const from = sdeditStartIndex(grid.length, edit.strength);
  return { grid: grid.slice(from), start: sdeditStartLatent(encoded, noise, grid, from, abar) };
}
