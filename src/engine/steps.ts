// Which step counts a denoiser accepts: the one rule that the manifest validator
// (runtime/manifest.ts), the request check (runtime/pipeline.ts) and the store use.
//
//   a teacher samples on the trailing grid of any N that divides num_train_timesteps;
//   a student only with the N it was distilled for, its one entry in `steps`.
//
// A denoiser's `steps` list is what the page offers it with: for a student its N, for a teacher
// some of the counts it accepts (the validator refuses a listed count the denoiser does not accept).

/** The part of a denoiser entry the rule reads (a manifest DenoiserSpec or a DenoiserSummary fits). */
export interface StepsOf {
  readonly id: string;
  readonly role: 'teacher' | 'student';
  readonly steps: readonly number[];
}

/** Why `d` cannot sample with `n` steps on a schedule of `numTrainTimesteps`, or null when it can. */
export function stepsRefusal(d: StepsOf, n: number, numTrainTimesteps: number): string | null {
  if (!Number.isInteger(n) || n < 1) return `steps must be a positive integer, got ${n}`;
  if (d.role === 'student' && n !== d.steps[0]) {
    return `student "${d.id}" was distilled for ${d.steps[0]} steps and cannot sample with ${n}`;
  }
  if (numTrainTimesteps % n !== 0) {
    const who = d.role === 'teacher' ? 'the teacher samples' : 'denoisers sample';
    return `steps ${n} does not divide ${numTrainTimesteps}: ${who} on N-step grids with N dividing ${numTrainTimesteps}`;
  }
  return null;
}

/** True when `d` can sample with `n` steps (see stepsRefusal). */
export function acceptsSteps(d: StepsOf, n: number, numTrainTimesteps: number): boolean {
  return stepsRefusal(d, n, numTrainTimesteps) === null;
}

/**
 * True when the page offers `d` with `n` steps: one of its listed counts, each of which it
 * accepts (for a student, exactly acceptsSteps; the page does not know num_train_timesteps).
 */
export function offersSteps(d: Pick<StepsOf, 'steps'>, n: number): boolean {
  return d.steps.includes(n);
}
