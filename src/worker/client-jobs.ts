// The requests of a job: a 'variations' job (seeds seed, seed + 1, ...) or a 'grid' job (one
// request per cell of the comparison grid). The client sends them one at a time.

import { fillPlan } from '../compare/grid';
import type { DenoiserSummary } from '../domain/pack-summary';
import type { GenerateRequest } from '../runtime/api';
import type { JobItem } from '../store';

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
