// Selectors at module scope (stable identities for useStore(selector)).

import type { Stage } from '../runtime/api';
import type { DenoiserSummary } from '../worker/protocol';
import { DEFAULT_TEACHER_STEPS } from './initialState';
import type { AppState } from './types';

export const selectPrompt = (s: AppState): string => s.prompt;
export const selectSteps = (s: AppState): number => s.steps;
export const selectSeed = (s: AppState): number => s.seed;
export const selectRun = (s: AppState) => s.run;
export const selectResult = (s: AppState) => s.result;
export const selectError = (s: AppState) => s.error;
export const selectDevice = (s: AppState) => s.device;
export const selectFiles = (s: AppState) => s.files;
export const selectLoadStatus = (s: AppState) => s.loadStatus;
export const selectManifest = (s: AppState) => s.manifest;
export const selectLastOutcome = (s: AppState) => s.lastOutcome;

/** The denoiser the form uses: the chosen one, else the teacher, else none yet. */
export const selectDenoiser = (s: AppState): DenoiserSummary | null => {
  const ds = s.manifest?.denoisers ?? [];
  return ds.find((d) => d.id === s.denoiserId) ?? ds.find((d) => d.role === 'teacher') ?? ds[0] ?? null;
};

const defaultStepOptions: readonly number[] = DEFAULT_TEACHER_STEPS;
/** Step counts offered for the chosen denoiser, most steps first. */
export const selectStepOptions = (s: AppState): readonly number[] => selectDenoiser(s)?.steps ?? defaultStepOptions;

/** Why Generate is disabled, as a sentence for the user; null when it is enabled. */
export const selectGenerateBlocker = (s: AppState): string | null => {
  if (s.prompt.trim() === '') return 'Type a prompt to generate';
  if (s.run) return s.run.status === 'cancelling' ? 'Cancelling…' : 'Generating…';
  if (s.loadStatus === 'failed') return 'The model pack could not be loaded';
  if (s.loadStatus !== 'ready') return 'Loading the model pack…';
  return null;
};

/** Share of each stage in the progress bar (sums to 100); denoise grows step by step. */
const STAGE_SPAN: Record<Stage, [number, number]> = {
  tokenize: [0, 2],
  encode: [2, 6],
  denoise: [6, 90],
  decode: [90, 95],
  vocode: [95, 100],
};

/** Overall progress of the run in percent (0..100), or null when nothing runs. */
export const selectProgressPercent = (s: AppState): number | null => {
  const run = s.run;
  if (!run) return null;
  if (!run.stage) return 0;
  const [from, to] = STAGE_SPAN[run.stage];
  if (run.stage === 'denoise' && run.step !== null && run.totalSteps) {
    return Math.round(from + ((to - from) * run.step) / run.totalSteps);
  }
  return from;
};

/** "denoise: step 3 of 25", "decode", or "starting". */
export const selectProgressText = (s: AppState): string | null => {
  const run = s.run;
  if (!run) return null;
  if (!run.stage) return run.status === 'cancelling' ? 'cancelling' : 'starting';
  const base =
    run.stage === 'denoise' && run.step !== null && run.totalSteps
      ? `denoise: step ${run.step} of ${run.totalSteps}`
      : run.stage;
  return run.status === 'cancelling' ? `${base} (cancelling)` : base;
};
