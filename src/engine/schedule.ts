// The noise schedule and the sampling grid (docs/sampling.md E2, E8).
// Python twin: factory/soundstep_factory/sampling.py; golden.json keeps the two in step.
//
// Notation (code name -> symbol of docs/sampling.md), used across src/engine/:
//   abar[t]            -> alpha-bar_t = prod_{i<=t} (1 - beta_i)
//   alpha, alphaT      -> alpha_t = sqrt(alpha-bar_t)
//   sigma, sigmaT      -> sigma_t = sqrt(1 - alpha-bar_t)
//   alphaS, sigmaS     -> alpha_s, sigma_s at the earlier point s of a DDIM step
//   z                  -> z_t, the noisy latent (VAE latent times latent.scale)
//   x, xHat            -> x (clean latent), x_hat (its prediction)
//   eps, epsHat        -> epsilon, epsilon_hat
//   v                  -> v = alpha_t eps - sigma_t x (the network's output)
//   s (guide), guidance -> classifier-free guidance scale w (E20)
//   gCond, gUncond     -> g_c, g_u: predictions with the prompt and with the empty prompt
//   trailingGrid(n)[k] -> tau^N_k;  FINAL -> the point after the last step (alpha 1, sigma 0)

export const NUM_TRAIN_TIMESTEPS = 1000;
export const BETA_START = 0.00085;
export const BETA_END = 0.012;
/** The point after the last step: alpha = 1, sigma = 0 (set_alpha_to_one). */
export const FINAL = -1;

/** abar_t = prod_{i<=t} (1 - beta_i) with "scaled_linear" betas beta_t = linspace(sqrt(b0), sqrt(b1), T)[t]^2 (E2). */
export function alphasCumprod(
  numTrainTimesteps: number = NUM_TRAIN_TIMESTEPS,
  betaStart: number = BETA_START,
  betaEnd: number = BETA_END,
): Float64Array {
  const abar = new Float64Array(numTrainTimesteps);
  const lo = Math.sqrt(betaStart);
  const hi = Math.sqrt(betaEnd);
  const stepSize = (hi - lo) / (numTrainTimesteps - 1);
  let product = 1;
  for (let t = 0; t < numTrainTimesteps; t++) {
    // torch.linspace computes the second half from the end, so both ends are exact
    const root = t < numTrainTimesteps / 2 ? lo + t * stepSize : hi - (numTrainTimesteps - 1 - t) * stepSize;
    product *= 1 - root * root;
    abar[t] = product;
  }
  return abar;
}

export interface AlphaSigma {
  alpha: number;
  sigma: number;
}

/** (alpha_t, sigma_t) = (sqrt(abar_t), sqrt(1 - abar_t)), with t = FINAL giving (1, 0) (E2). */
export function alphaSigma(abar: Float64Array, t: number): AlphaSigma {
  if (t === FINAL) return { alpha: 1, sigma: 0 };
  if (!Number.isInteger(t) || t < 0 || t >= abar.length) {
    throw new RangeError(`timestep ${t} is outside 0..${abar.length - 1} (or FINAL = -1)`);
  }
  const a = abar[t]!;
  return { alpha: Math.sqrt(a), sigma: Math.sqrt(1 - a) };
}

/** SNR_t = alpha_t^2 / sigma_t^2 (E2). */
export function snr(abar: Float64Array, t: number): number {
  const a = abar[t];
  if (a === undefined) throw new RangeError(`timestep ${t} is outside 0..${abar.length - 1}`);
  return a / (1 - a);
}

/** Python's round(): halves go to the even neighbour (so grids match the factory for any N). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** tau^N_k = round(T - k T / N) - 1 for k = 0..N-1, descending; FINAL follows the last (E8). */
export function trailingGrid(n: number, numTrainTimesteps: number = NUM_TRAIN_TIMESTEPS): number[] {
  if (!Number.isInteger(n) || n < 1 || n > numTrainTimesteps) {
    throw new RangeError(`step count ${n} must be an integer in 1..${numTrainTimesteps}`);
  }
  const grid: number[] = [];
  for (let k = 0; k < n; k++) grid.push(roundHalfEven(numTrainTimesteps - (k * numTrainTimesteps) / n) - 1);
  return grid;
}

/** The point a DDIM step from grid[k] goes to: grid[k + 1], or FINAL after the last step (E8). */
export function nextTimestep(grid: readonly number[], k: number): number {
  return k + 1 < grid.length ? grid[k + 1]! : FINAL;
}
