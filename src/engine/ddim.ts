// The v-parameterization and the deterministic DDIM step (docs/sampling.md E1-E7).
// Arithmetic is float64 per element; results are stored as float32, like every tensor of the app.

/** Forward process z_t = alpha_t x + sigma_t eps (E1). */
export function qSample(x: Float32Array, eps: Float32Array, alpha: number, sigma: number): Float32Array {
  sameLength(x, eps);
  const z = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) z[i] = alpha * x[i]! + sigma * eps[i]!;
  return z;
}

/** v = alpha_t eps - sigma_t x (E5). */
export function vFromXEps(x: Float32Array, eps: Float32Array, alpha: number, sigma: number): Float32Array {
  sameLength(x, eps);
  const v = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) v[i] = alpha * eps[i]! - sigma * x[i]!;
  return v;
}

/** x_hat = alpha_t z_t - sigma_t v (E4). */
export function xFromV(z: Float32Array, v: Float32Array, alpha: number, sigma: number): Float32Array {
  sameLength(z, v);
  const x = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) x[i] = alpha * z[i]! - sigma * v[i]!;
  return x;
}

/** eps_hat = sigma_t z_t + alpha_t v (E4). */
export function epsFromV(z: Float32Array, v: Float32Array, alpha: number, sigma: number): Float32Array {
  sameLength(z, v);
  const eps = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) eps[i] = sigma * z[i]! + alpha * v[i]!;
  return eps;
}

/** DDIM (eta = 0) from t to s with a v-prediction: z_s = alpha_s x_hat + sigma_s eps_hat (E7). */
export function ddimStepV(
  z: Float32Array,
  v: Float32Array,
  alphaT: number,
  sigmaT: number,
  alphaS: number,
  sigmaS: number,
): Float32Array {
  sameLength(z, v);
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const xHat = alphaT * z[i]! - sigmaT * v[i]!; // E4
    const epsHat = sigmaT * z[i]! + alphaT * v[i]!; // E4
    out[i] = alphaS * xHat + sigmaS * epsHat; // E7
  }
  return out;
}

function sameLength(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
}
