// Form slice: what the user typed and chose. The prompt is never cleared by anything else.

import type { StateCreator } from 'zustand';
import type { Store } from '../index';

export interface FormActions {
  setPrompt(prompt: string): void;
  setSteps(steps: number): void;
  setSeed(seed: number): void;
  /** choose a denoiser; the step count moves to one it supports */
  setDenoiser(id: string): void;
}

export type FormSlice = FormActions;

export const createFormSlice: StateCreator<Store, [], [], FormSlice> = (set) => ({
  setPrompt: (prompt) => set({ prompt }),
  setSteps: (steps) => set({ steps }),
  setSeed: (seed) => set({ seed: Number.isFinite(seed) ? Math.max(0, Math.floor(seed)) : 0 }),
  setDenoiser: (id) =>
    set((s) => {
      const d = s.manifest?.denoisers.find((x) => x.id === id);
      if (!d) return { denoiserId: id };
      return { denoiserId: id, steps: d.steps.includes(s.steps) ? s.steps : (d.steps[0] ?? s.steps) };
    }),
});
