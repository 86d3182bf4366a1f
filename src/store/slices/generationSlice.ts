// Generation slice: the run in flight (stage, step i/N) and the last result.

import type { StateCreator } from 'zustand';
import type { GenerateRequest } from '../../runtime/api';
import type { DoneReply, ProgressReply } from '../../worker/protocol';
import type { GenerationResult } from '../types';
import type { Store } from '../index';

export interface GenerationActions {
  generationStarted(id: number, request: GenerateRequest): void;
  generationProgressed(reply: ProgressReply): void;
  cancelRequested(id: number): void;
  /** `url` is an object URL for the WAV already made by the caller */
  generationDone(reply: DoneReply, url: string, fileName: string): void;
  generationCancelled(id: number): void;
  generationFailed(id: number | undefined): void;
}

export type GenerationSlice = GenerationActions;

export const createGenerationSlice: StateCreator<Store, [], [], GenerationSlice> = (set) => ({
  generationStarted: (id, request) =>
    set({ run: { id, request, status: 'running', stage: null, step: null, totalSteps: null }, error: null }),
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
  cancelRequested: (id) =>
    set((s) => (s.run && s.run.id === id ? { run: { ...s.run, status: 'cancelling' } } : {})),
  generationDone: (r, url, fileName) =>
    set((s) => {
      const { status: _status, wav, ...reply } = r;
      const result: GenerationResult = {
        ...reply,
        url,
        fileName,
        bytes: wav.byteLength,
        maxTokens: s.manifest?.maxTokens ?? null,
      };
      return { run: s.run?.id === r.id ? null : s.run, result, lastOutcome: 'done' };
    }),
  generationCancelled: (id) => set((s) => (s.run?.id === id ? { run: null, lastOutcome: 'cancelled' } : {})),
  generationFailed: (id) =>
    set((s) => (id === undefined || s.run?.id === id ? { run: null, lastOutcome: 'failed' } : {})),
});
