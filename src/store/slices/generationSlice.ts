// Generation slice: the job in flight (variations of one prompt, or the comparison grid), the
// run of it now in the worker (stage, step i/N), and the results list (newest first).
//
// The worker client (src/worker/client.ts) drives a job: it starts the first item, and on each
// 'done' stores the result and starts the next, so only one request is in the worker at a
// time and Cancel has nothing queued behind the running one.

import type { StateCreator } from 'zustand';
import type { GenerateRequest } from '../../runtime/api';
import type { FileReply, ProgressReply } from '../../worker/protocol';
import { HISTORY_LIMIT } from '../../history';
import type { GenerationResult, GridCellState, JobState } from '../types';
import type { Store } from '../index';

export interface GenerationActions {
  /** a job starts with its first item as run `id` */
  jobStarted: (job: JobState, id: number) => void;
  /** the job moves on to its next item, run `id` */
  jobAdvanced: (id: number) => void;
  /** the job ran all its items */
  jobFinished: () => void;
  /** a lone run (no job), e.g. from tests or tools */
  generationStarted: (id: number, request: GenerateRequest) => void;
  generationProgressed: (reply: ProgressReply) => void;
  /** a file downloads for the run (its denoiser's first use) */
  generationFileProgress: (reply: FileReply) => void;
  /** `reason`: why, when the user did not press Cancel (said in the cancel note) */
  cancelRequested: (id: number, reason?: string) => void;
  /** run `id` finished; the caller stores its result (resultAdded or gridCellDone) */
  generationDone: (id: number) => void;
  /** `worker`: the steps the worker measured (CancelledReply), preferred over what the page saw */
  generationCancelled: (id: number, worker?: { cancelAtStep?: number; stoppedAtStep?: number }) => void;
  generationFailed: (id: number | undefined) => void;
  /** newest first; the list keeps HISTORY_LIMIT results */
  resultAdded: (result: GenerationResult) => void;
  /** results from the browser's history, merged with those of this visit */
  resultsRestored: (results: GenerationResult[]) => void;
  resultRemoved: (key: string) => void;
  resultsCleared: () => void;
  historyOpened: () => void;
  historyUnavailable: (message: string) => void;
}

export type GenerationSlice = GenerationActions;

/** Newest first; equal times by key. */
const byNewest = (a: GenerationResult, b: GenerationResult): number =>
  b.createdAt - a.createdAt || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);

/** The grid without the cells that were waiting or running (a stopped fill). */
function dropUnfinished(grid: Record<string, GridCellState>, failedKey?: string): Record<string, GridCellState> {
  const out: Record<string, GridCellState> = {};
  for (const [k, c] of Object.entries(grid)) {
    if (c.status === 'done' || c.status === 'failed') out[k] = c;
    else if (k === failedKey && c.status === 'running') out[k] = { status: 'failed', result: null };
  }
  return out;
}

const newRun = (id: number, request: GenerateRequest) => ({
  id,
  request,
  status: 'running' as const,
  stage: null,
  step: null,
  totalSteps: null,
  cancelAtStep: null,
});

export const createGenerationSlice: StateCreator<Store, [], [], GenerationSlice> = (set) => ({
  jobStarted: (job, id) =>
    set((s) => {
      const first = job.items[0];
      if (!first) return {};
      const grid = first.cell ? { ...s.grid, [first.cell]: { status: 'running' as const, result: null } } : s.grid;
      return { job: { ...job, index: 0 }, run: newRun(id, first.request), error: null, lastCancel: null, grid };
    }),
  jobAdvanced: (id) =>
    set((s) => {
      const job = s.job;
      const next = job?.items[job.index + 1];
      if (!job || !next) return {};
      const grid = next.cell ? { ...s.grid, [next.cell]: { status: 'running' as const, result: null } } : s.grid;
      return { job: { ...job, index: job.index + 1 }, run: newRun(id, next.request), grid };
    }),
  jobFinished: () => set({ job: null }),
  generationStarted: (id, request) => set({ run: newRun(id, request), error: null, lastCancel: null }),
  generationProgressed: (r) =>
    set((s) => {
      if (!s.run || s.run.id !== r.id) return {};
      return {
        run: {
          ...s.run,
          stage: r.stage,
          step: r.step ?? (r.stage === s.run.stage ? s.run.step : null),
          totalSteps: r.totalSteps ?? (r.stage === s.run.stage ? s.run.totalSteps : null),
        },
      };
    }),
  generationFileProgress: (r) =>
    set((s) =>
      s.run && s.run.id === r.id ? { run: { ...s.run, download: { file: r.file, loaded: r.loaded, total: r.total, done: r.done } } } : {},
    ),
  cancelRequested: (id, reason) =>
    set((s) =>
      s.run && s.run.id === id
        ? { run: { ...s.run, status: 'cancelling', cancelAtStep: s.run.stage === 'denoise' ? s.run.step : null, stopReason: reason ?? s.run.stopReason } }
        : {},
    ),
  generationDone: (id) => set((s) => (s.run?.id === id ? { run: null, lastOutcome: 'done' } : {})),
  generationCancelled: (id, worker) =>
    set((s) => {
      if (s.run?.id !== id) return {};
      const { run, job } = s;
      return {
        run: null,
        job: null,
        lastOutcome: 'cancelled',
        lastCancel: {
          requestedAt: worker?.cancelAtStep ?? run.cancelAtStep ?? null,
          stoppedAt: worker?.stoppedAtStep ?? (run.stage === 'denoise' ? run.step : null),
          totalSteps: run.totalSteps,
          skipped: job ? job.items.length - job.index - 1 : 0,
          ...(run.stopReason ? { reason: run.stopReason } : {}),
        },
        grid: job?.kind === 'grid' ? dropUnfinished(s.grid) : s.grid,
      };
    }),
  generationFailed: (id) =>
    set((s) => {
      if (id !== undefined && s.run?.id !== id) return {};
      const cell = s.job?.items[s.job.index]?.cell;
      return {
        run: null,
        job: null,
        lastOutcome: 'failed',
        grid: s.job?.kind === 'grid' ? dropUnfinished(s.grid, cell) : s.grid,
      };
    }),
  resultAdded: (result) => set((s) => ({ results: [result, ...s.results.filter((r) => r.key !== result.key)].slice(0, HISTORY_LIMIT) })),
  resultsRestored: (restored) =>
    set((s) => {
      const keys = new Set(s.results.map((r) => r.key));
      const merged = [...s.results, ...restored.filter((r) => !keys.has(r.key))].sort(byNewest);
      return { results: merged.slice(0, HISTORY_LIMIT) };
    }),
  resultRemoved: (key) => set((s) => ({ results: s.results.filter((r) => r.key !== key) })),
  resultsCleared: () => set({ results: [] }),
  historyOpened: () => set({ historyStatus: 'ready', historyMessage: null }),
  historyUnavailable: (message) => set({ historyStatus: 'unavailable', historyMessage: message }),
});
