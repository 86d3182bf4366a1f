// Classifier-free guidance (docs/sampling.md E20).

/** g = g_u + s (g_c - g_u) (E20); the coefficients sum to 1, so it holds in v, x or eps space. */
export function guide(gUncond: Float32Array, gCond: Float32Array, s: number): Float32Array {
  if (gUncond.length !== gCond.length) {
    throw new RangeError(`length mismatch: uncond ${gUncond.length} vs cond ${gCond.length}`);
  }
  const g = new Float32Array(gCond.length);
  for (let i = 0; i < g.length; i++) g[i] = gUncond[i]! + s * (gCond[i]! - gUncond[i]!);
  return g;
}
