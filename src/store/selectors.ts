// Selectors at module scope (stable identities for useStore(selector)).

import type { Stage } from '../runtime/api';
import { nfeCost, nfePerStep } from '../engine/cost';
import { offersSteps } from '../engine/steps';
import type { DenoiserSummary } from '../domain/pack-summary';
import { DEFAULT_TEACHER_STEPS } from './initialState';
import type { AppState } from './types';

/** "1.2 of 2.6 MB" (one decimal in MB, as a download line reads calmly), or "1.2 MB" when the total is unknown. */
export function downloadAmount(loaded: number, total: number): string {
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  return total > 0 ? `${mb(loaded)} of ${mb(total)} MB` : `${mb(loaded)} MB`;
}

/** The ready pack's denoisers not downloaded yet: id -> bytes its first use fetches. */
export const selectOnDemand = (s: AppState): Record<string, number> => s.onDemand;

export const selectPrompt = (s: AppState): string => s.prompt;
export const selectSteps = (s: AppState): number => s.steps;
export const selectSeed = (s: AppState): number => s.seed;
export const selectRun = (s: AppState) => s.run;
/** The newest result, or null. */
export const selectResult = (s: AppState) => s.results[0] ?? null;
export const selectResults = (s: AppState) => s.results;
export const selectJob = (s: AppState) => s.job;
export const selectLastCancel = (s: AppState) => s.lastCancel;
export const selectGrid = (s: AppState) => s.grid;
export const selectError = (s: AppState) => s.error;
export const selectDevice = (s: AppState) => s.device;
/** which weights the loaded pack runs in (float32, float16, int8) and why */
export const selectPrecision = (s: AppState) => s.precision;
export const selectFiles = (s: AppState) => s.files;
export const selectLoadStatus = (s: AppState) => s.loadStatus;
export const selectManifest = (s: AppState) => s.manifest;
export const selectLastOutcome = (s: AppState) => s.lastOutcome;

/** The denoiser the form uses: the chosen one, else the teacher, else none yet. */
export const selectDenoiser = (s: AppState): DenoiserSummary | null => {
  const ds = s.manifest?.denoisers ?? [];
  return ds.find((d) => d.id === s.denoiserId) ?? ds.find((d) => d.role === 'teacher') ?? ds[0] ?? null;
};

const defaultStepOptions: readonly number[] = [...DEFAULT_TEACHER_STEPS].sort((a, b) => a - b);
const ascending = (xs: Iterable<number>): number[] => [...new Set(xs)].sort((a, b) => a - b);

/** Which side of the teacher/student switch the form is on. */
export const selectRole = (s: AppState): 'teacher' | 'student' => selectDenoiser(s)?.role ?? 'teacher';

/** True when the pack has at least one student (the switch is offered). */
export const selectHasStudents = (s: AppState): boolean => (s.manifest?.denoisers ?? []).some((d) => d.role === 'student');

/**
 * Step counts the slider offers, fewest first: the teacher's, or for the student side every N
 * some student was distilled for (a student supports only its own N).
 */
export const selectStepOptions = (s: AppState): readonly number[] => {
  const d = selectDenoiser(s);
  if (!d) return defaultStepOptions;
  if (d.role === 'teacher') return ascending(d.steps);
  return ascending((s.manifest?.denoisers ?? []).filter((x) => x.role === 'student').flatMap((x) => x.steps));
};

/** Student methods distilled for the current step count (for the student side's method choice). */
export const selectMethodOptions = (s: AppState): string[] => {
  const out: string[] = [];
  for (const d of s.manifest?.denoisers ?? []) {
    if (d.role === 'student' && offersSteps(d, s.steps) && d.method && !out.includes(d.method)) out.push(d.method);
  }
  return out;
};

export interface NfeEstimate {
  /** network evaluations per DDIM step (2 with guidance, 1 folded) */
  perStep: number;
  /** per sound: steps * perStep */
  perSound: number;
  variations: number;
  /** for the whole batch */
  total: number;
}

/** What the current choice costs, shown before generating. */
export const selectNfeEstimate = (s: AppState): NfeEstimate | null => {
  const d = selectDenoiser(s);
  if (!d || !Number.isInteger(s.steps) || s.steps < 1) return null;
  const perSound = nfeCost(d, s.steps);
  return { perStep: nfePerStep(d), perSound, variations: s.variations, total: perSound * s.variations };
};

/** "variation 2 of 3", "cell 3 of 7: bsa · 25 steps"; null for a lone run. */
export const selectJobLabel = (s: AppState): string | null => {
  const job = s.job;
  if (!job) return null;
  const item = job.items[job.index];
  if (!item) return null;
  if (job.kind === 'grid') return `cell ${job.index + 1} of ${job.items.length}: ${item.label}`;
  return job.items.length > 1 ? `variation ${job.index + 1} of ${job.items.length}` : null;
};

/** Why Generate is disabled, as a sentence for the user; null when it is enabled. */
export const selectGenerateBlocker = (s: AppState): string | null => {
  if (s.prompt.trim() === '') return 'Type a prompt to generate';
  if (s.run) return s.run.status === 'cancelling' ? 'Cancelling…' : 'Generating…';
  if (s.job) return 'Generating…';
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

/** "denoise: step 3 of 25", "decode", "downloading denoisers/teacher.onnx 1.2 of 2.6 MB" or "starting". */
export const selectProgressText = (s: AppState): string | null => {
  const run = s.run;
  if (!run) return null;
  const job = selectJobLabel(s);
  if (!run.stage) {
    const d = run.download;
    const downloading = d && !d.done ? `downloading ${d.file} ${downloadAmount(d.loaded, d.total)}` : null;
    const what = run.status === 'cancelling' ? (downloading ? `${downloading} (cancelling)` : 'cancelling') : (downloading ?? 'starting');
    return job ? `${job} · ${what}` : what;
  }
  const stage =
    run.stage === 'denoise' && run.step !== null && run.totalSteps
      ? `denoise: step ${run.step} of ${run.totalSteps}`
      : run.stage;
  const base = job ? `${job} · ${stage}` : stage;
  return run.status === 'cancelling' ? `${base} (cancelling)` : base;
};
