// Form slice: what the user typed and chose. The prompt is never cleared by anything else.

import type { StateCreator } from 'zustand';
import { offersSteps } from '../../engine/steps';
import type { DenoiserSummary } from '../../domain/pack-summary';
import { fillExample } from '../../domain/example-fill';
import type { PromptReading } from '../../domain/prompt-reading';
import { GUIDANCE_RANGE, MAX_VARIATIONS } from '../initialState';
import type { Store } from '../index';

export interface FormActions {
  /** what the user typed: an example's Undo no longer applies */
  setPrompt: (prompt: string) => void;
  /** an example prompt was clicked: it fills the box, a typed prompt is kept for Undo (domain/example-fill.ts) */
  exampleChosen: (example: string) => void;
  /** back to the prompt the user typed before the examples */
  exampleUndone: () => void;
  /** the negative prompt (used by a guided teacher only; kept while a student is chosen) */
  setNegativePrompt: (text: string) => void;
  /** the worker's reading of a prompt (null: the prompt is empty) */
  promptReadingReceived: (reading: PromptReading | null) => void;
  /** for a student, moves to the student distilled for `steps` of the chosen method (studentMethod), else of the current one, else any */
  setSteps: (steps: number) => void;
  setSeed: (seed: number) => void;
  setSeedFixed: (fixed: boolean) => void;
  setGuidanceScale: (scale: number) => void;
  setVariations: (count: number) => void;
  /** a clip length the pack offers (ManifestSummary.clipLengths); null or the pack's own: its own */
  setSeconds: (seconds: number | null) => void;
  /** choose a denoiser; the step count moves to one it supports */
  setDenoiser: (id: string) => void;
  /** the teacher/student switch: keeps the step count when the other side has it, else the nearest */
  setRole: (role: 'teacher' | 'student') => void;
  /** a student method (bsa, eps, ...) at the current step count when it has one */
  setMethod: (method: string) => void;
}

export type FormSlice = FormActions;

/** Largest seed the form keeps (seeds seed .. seed + MAX_VARIATIONS - 1 must stay below 2^53). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER - MAX_VARIATIONS;

/** Distance between step counts on a log scale (25 is as far from 50 as 100 from 200). */
const stepDistance = (a: number, b: number): number => Math.abs(Math.log(a) - Math.log(b));

/** The candidate supporting `steps`, preferring `method`; else the one whose N is nearest. */
export function pickDenoiser(
  candidates: readonly DenoiserSummary[],
  steps: number,
  method: string | null,
): { denoiser: DenoiserSummary; steps: number } | null {
  const at = candidates.filter((d) => offersSteps(d, steps));
  const exact = at.find((d) => d.method === method) ?? at[0];
  if (exact) return { denoiser: exact, steps };
  let best: { denoiser: DenoiserSummary; steps: number } | null = null;
  for (const d of candidates) {
    for (const n of d.steps) {
      const better =
        !best ||
        stepDistance(n, steps) < stepDistance(best.steps, steps) ||
        (stepDistance(n, steps) === stepDistance(best.steps, steps) && d.method === method && best.denoiser.method !== method);
      if (better) best = { denoiser: d, steps: n };
    }
  }
  return best;
}

export const createFormSlice: StateCreator<Store, [], [], FormSlice> = (set) => ({
  setPrompt: (prompt) => set({ prompt, promptBefore: null }),
  exampleChosen: (example) => set((s) => fillExample(s, example)),
  exampleUndone: () => set((s) => (s.promptBefore === null ? {} : { prompt: s.promptBefore, promptBefore: null })),
  promptReadingReceived: (promptReading) => set({ promptReading }),
  setNegativePrompt: (negativePrompt) => set({ negativePrompt }),
  setSteps: (steps) =>
    set((s) => {
      const current = s.manifest?.denoisers.find((d) => d.id === s.denoiserId);
      if (!current || current.role === 'teacher') return { steps };
      const students = s.manifest?.denoisers.filter((d) => d.role === 'student') ?? [];
      const d = students.filter((x) => offersSteps(x, steps));
      const pick = d.find((x) => x.method === s.studentMethod) ?? d.find((x) => x.method === current.method) ?? d[0];
      return pick ? { denoiserId: pick.id, steps } : {};
    }),
  // the largest seed leaves room for seed + (variations - 1) inside the RNG's [0, 2^53)
  setSeed: (seed) => set({ seed: Number.isFinite(seed) ? Math.min(MAX_SEED, Math.max(0, Math.floor(seed))) : 0 }),
  setSeedFixed: (seedFixed) => set({ seedFixed }),
  setGuidanceScale: (scale) =>
    set(() => {
      if (!Number.isFinite(scale)) return {};
      const { min, max, step } = GUIDANCE_RANGE;
      return { guidanceScale: Math.min(max, Math.max(min, Math.round(scale / step) * step)) };
    }),
  setVariations: (count) =>
    set({ variations: Number.isFinite(count) ? Math.min(MAX_VARIATIONS, Math.max(1, Math.round(count))) : 1 }),
  setSeconds: (seconds) =>
    set((s) => {
      const own = s.manifest?.clipSeconds;
      if (seconds === null || seconds === own) return { seconds: null };
      return s.manifest?.clipLengths?.includes(seconds) ? { seconds } : {};
    }),
  setDenoiser: (id) =>
    set((s) => {
      const d = s.manifest?.denoisers.find((x) => x.id === id);
      if (!d) return { denoiserId: id };
      const studentMethod = d.role === 'student' ? d.method : s.studentMethod;
      return { denoiserId: id, studentMethod, steps: offersSteps(d, s.steps) ? s.steps : (d.steps[0] ?? s.steps) };
    }),
  setRole: (role) =>
    set((s) => {
      const all = s.manifest?.denoisers ?? [];
      const current = all.find((d) => d.id === s.denoiserId);
      const pick = pickDenoiser(all.filter((d) => d.role === role), s.steps, s.studentMethod ?? current?.method ?? null);
      return pick ? { denoiserId: pick.denoiser.id, steps: pick.steps } : {};
    }),
  setMethod: (method) =>
    set((s) => {
      const students = s.manifest?.denoisers.filter((d) => d.role === 'student' && d.method === method) ?? [];
      const pick = pickDenoiser(students, s.steps, method);
      return pick ? { denoiserId: pick.denoiser.id, studentMethod: method, steps: pick.steps } : {};
    }),
});
