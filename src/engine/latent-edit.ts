// Editing a latent instead of drawing one from noise (docs/sampling.md section 9):
// inpainting, which regenerates a time range and keeps the rest (E21, latent masking at every
// step as in RePaint and AudioLDM), and audio-to-audio, which starts part-way down the grid from
// a given latent noised to that step's level (E22, SDEdit). Pure functions over (C, T, F) latents.

import { alphaSigma, FINAL } from './schedule';

/** The latent's shape (manifest.latent). */
export interface LatentShape {
  channels: number;
  frames: number;
  bins: number;
}

/** A range of latent frames [start, end). */
export interface FrameRange {
  start: number;
  end: number;
}

/**
 * The latent frames that cover [startSec, endSec) of a clip of `clipSeconds`, rounded outwards
 * so the whole selection is regenerated; clamped to the clip, at least one frame.
 */
export function framesOfRange(startSec: number, endSec: number, clipSeconds: number, frames: number): FrameRange {
  const perSecond = frames / clipSeconds;
  const start = Math.min(frames - 1, Math.max(0, Math.floor(startSec * perSecond + 1e-9)));
  const end = Math.max(start + 1, Math.min(frames, Math.ceil(endSec * perSecond - 1e-9)));
  return { start, end };
}

/** m over (C, T, F): 1 on the frames of `range` (regenerated), 0 elsewhere (kept). */
export function frameMask(shape: LatentShape, range: FrameRange): Float32Array {
  const { channels: C, frames: T, bins: F } = shape;
  const m = new Float32Array(C * T * F);
  for (let c = 0; c < C; c++) m.fill(1, (c * T + range.start) * F, (c * T + range.end) * F);
  return m;
}

/** E1 at one point: z = alpha * x + sigma * eps. */
export function noised(x: Float32Array, eps: Float32Array, alpha: number, sigma: number): Float32Array {
  const z = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) z[i] = alpha * x[i]! + sigma * eps[i]!;
  return z;
}

/**
 * E21 (latent masking): z_s <- m * z_s + (1 - m) * (alpha_s * x_keep + sigma_s * eps): inside the
 * mask the sampler's z, outside it the kept latent noised to the level of s (E1). At FINAL
 * (alpha 1, sigma 0) the outside is x_keep itself, bit for bit.
 */
export function keepOutsideMask(
  z: Float32Array,
  mask: Float32Array,
  kept: Float32Array,
  eps: Float32Array,
  alphaS: number,
  sigmaS: number,
): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) {
    out[i] = mask[i] === 1 ? z[i]! : alphaS * kept[i]! + sigmaS * eps[i]!;
  }
  return out;
}

/** The sampler's constraint after each step (sample.ts Constrain) that keeps x_keep outside `mask` (E21). */
export function inpaintConstraint(
  mask: Float32Array,
  kept: Float32Array,
  eps: Float32Array,
  abar: Float64Array,
): (z: Float32Array, s: number) => Float32Array {
  return (z, s) => {
    const { alpha, sigma } = alphaSigma(abar, s);
    return keepOutsideMask(z, mask, kept, eps, alpha, sigma);
  };
}

/**
 * E22 (SDEdit): of an N-step grid, strength in [0, 1] runs the last round(strength * N) steps.
 * Returns the grid index sampling starts at: N (no step: the input latent is the result) down to
 * 0 (every step, from pure noise as text-to-audio does, so the input is ignored).
 */
export function sdeditStartIndex(steps: number, strength: number): number {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`strength must be in [0, 1], got ${strength}`);
  return steps - Math.round(strength * steps);
}

/**
 * E22: z at grid[start] for SDEdit: the input latent x noised to that level (E1), pure noise at
 * start 0 (text-to-audio's own start, so strength 1 ignores x), x itself when no step runs.
 */
export function sdeditStartLatent(x: Float32Array, eps: Float32Array, grid: readonly number[], start: number, abar: Float64Array): Float32Array {
  if (start >= grid.length) return Float32Array.from(x);
  if (start === 0) return Float32Array.from(eps);
  const { alpha, sigma } = alphaSigma(abar, grid[start] ?? FINAL);
  return noised(x, eps, alpha, sigma);
}
