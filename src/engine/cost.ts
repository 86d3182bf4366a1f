// What a generation costs in network evaluations (NFE), before it runs: the number the page
// shows next to the step slider and that the worker's `networkEvaluations` must equal after.

/** The part of a denoiser entry the cost depends on (a DenoiserSummary fits). */
export interface CostedDenoiser {
  guidance: { type: 'classifier-free' } | { type: 'folded' };
}

/**
 * Network evaluations per DDIM step: 2 for classifier-free guidance (the conditional and the
 * unconditional row of one batch, E20), 1 for a student whose guidance is folded in.
 */
export function nfePerStep(d: CostedDenoiser): number {
  return d.guidance.type === 'classifier-free' ? 2 : 1;
}

/** Network evaluations for one generation of `steps` steps: steps * nfePerStep. */
export function nfeCost(d: CostedDenoiser, steps: number): number {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  return steps * nfePerStep(d);
}
