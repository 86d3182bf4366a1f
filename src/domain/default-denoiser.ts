// Which denoiser the page starts on: the point of the product is the fast distilled student, so
// the pack's best 25-step student, as the manifest names it (`default_denoiser`) or, when it
// does not, by the same rule the factory uses to name it (pack_metrics.default_denoiser):
// the 25-step student with the lowest audio fad_judge in the metrics table, else the first
// 25-step student, else the teacher at its lowest step count. Pure, so it is unit-tested.

import type { MetricsTable } from '../runtime/pack-types';
import type { DenoiserSummary } from './pack-summary';

/** The step count of the students the page starts on. */
export const DEFAULT_STUDENT_STEPS = 25;

export interface DefaultChoice {
  denoiserId: string;
  /** a student's own N; a teacher's lowest offered step count */
  steps: number;
}

/** `d` at the step count the page starts it on: its fewest offered steps. */
function at(d: DenoiserSummary): DefaultChoice | null {
  return d.steps.length > 0 ? { denoiserId: d.id, steps: Math.min(...d.steps) } : null;
}

/** The 25-step student with the best (lowest) audio fad_judge row, or null when no such row exists. */
export function bestStudent(students: readonly DenoiserSummary[], metrics: MetricsTable | null): DenoiserSummary | null {
  let best: { d: DenoiserSummary; fad: number } | null = null;
  for (const d of students) {
    const row = metrics?.rows.find((r) => r.denoiser === d.id && r.steps === DEFAULT_STUDENT_STEPS);
    if (row && (!best || row.fad_judge.mean < best.fad)) best = { d, fad: row.fad_judge.mean };
  }
  return best?.d ?? null;
}

/**
 * The denoiser and step count the page starts on: `named` (the manifest's default_denoiser)
 * when the pack has it; else the best 25-step student by the metrics, else the first 25-step
 * student, else the teacher (the first denoiser when there is none) at its fewest steps.
 */
export function defaultChoice(
  denoisers: readonly DenoiserSummary[],
  metrics: MetricsTable | null,
  named: string | null = null,
): DefaultChoice | null {
  const chosen = denoisers.find((d) => d.id === named);
  if (chosen) return at(chosen);
  const students = denoisers.filter((d) => d.role === 'student' && d.steps.includes(DEFAULT_STUDENT_STEPS));
  const student = bestStudent(students, metrics) ?? students[0];
  if (student) return { denoiserId: student.id, steps: DEFAULT_STUDENT_STEPS };
  const teacher = denoisers.find((d) => d.role === 'teacher') ?? denoisers[0];
  return teacher ? at(teacher) : null;
}
