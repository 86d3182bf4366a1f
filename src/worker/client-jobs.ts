// The requests of a job: a 'variations' job (seeds seed, seed + 1, ...) or a 'grid' job (one
// request per cell of the comparison grid). The client sends them one at a time.

import { fillPlan } from '../compare/grid';
import type { DenoiserSummary } from '../domain/pack-summary';
import type { GenerateRequest } from '../runtime/api';
import type { AppState, JobItem, JobState, RetryJob } from '../store';

/** A random seed in [0, 2^31). */
export const randomSeed = (random: () => number = Math.random): number => Math.floor(random() * 2 ** 31);

/** One request per variation: seeds seed, seed + 1, ... (teacher with the form's guidance, student folded). */
export function variationItems(base: Omit<GenerateRequest, 'seed'>, seed: number, count: number): JobItem[] {
  return Array.from({ length: count }, (_, i) => ({
    request: { ...base, seed: seed + i },
    label: `variation ${i + 1} of ${count}`,
  }));
}

/** One request per grid cell (fillPlan), all with the same prompt and seed; guidance only for a teacher. */
export function gridItems(
  denoisers: readonly DenoiserSummary[],
  form: { prompt: string; seed: number; guidanceScale: number },
): JobItem[] {
  return fillPlan(denoisers).map((c) => {
    const d = denoisers.find((x) => x.id === c.denoiserId);
    const guided = d?.guidance.type === 'classifier-free';
    return {
      request: { prompt: form.prompt, denoiserId: c.denoiserId, steps: c.steps, guidanceScale: guided ? form.guidanceScale : 1, seed: form.seed },
      cell: c.key,
      label: c.label,
    };
  });
}

/**
 * Why `job` stopped when another pack started loading: it runs on the pack it started with
 * (`packName`) or not at all, and what it made stays.
 */
export function jobStopReason(job: JobState, packName: string): string {
  if (job.kind === 'grid') {
    return 'The comparison grid stopped because another pack is loading: a grid compares the models of one pack. Fill the grid again to compare the new pack’s.';
  }
  const n = job.items.length;
  const made = job.index === 0 ? 'nothing was made yet' : `the ${job.index} sound${job.index === 1 ? '' : 's'} made by ${packName} stay${job.index === 1 ? 's' : ''}`;
  return `The batch of ${n} variation${n === 1 ? '' : 's'} stopped because another pack is loading: ${made}. Press Generate to make the rest with the new pack.`;
}

/** The interrupted request of the running job and those after it; null when nothing runs. */
export function retryOf(s: Pick<AppState, 'job' | 'run'>): RetryJob | null {
  if (s.job) return { kind: s.job.kind, items: s.job.items.slice(s.job.index) };
  if (s.run) return { kind: 'variations', items: [{ request: s.run.request, label: 'variation 1 of 1' }] };
  return null;
}
