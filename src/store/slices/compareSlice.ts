// Compare slice: the comparison grid's cells and the blind A/B round and tally of this visit.
// (Filling runs as a 'grid' job in the generation slice; cells are keyed "<denoiser>@<steps>".)

import type { StateCreator } from 'zustand';
import { addToTally, type AbChoice } from '../../compare/grid';
import type { CompareState, GenerationResult } from '../types';
import type { Store } from '../index';

export interface CompareActions {
  /** a new fill: every planned cell is queued, the previous cells are gone */
  gridStarted: (cells: readonly string[], gridFor: NonNullable<CompareState['gridFor']>) => void;
  gridCellDone: (cell: string, result: GenerationResult) => void;
  /** another pack is in use: its cells (and an open A/B round) no longer apply */
  gridCleared: () => void;
  /** a new round with [A, B] already in random order */
  abStarted: (order: [string, string]) => void;
  /** the listener's answer: counted once, then the round is revealed */
  abChosen: (choice: AbChoice) => void;
  abClosed: () => void;
}

export type CompareSlice = CompareActions;

export const createCompareSlice: StateCreator<Store, [], [], CompareSlice> = (set) => ({
  gridStarted: (cells, gridFor) =>
    set({ grid: Object.fromEntries(cells.map((k) => [k, { status: 'queued' as const, result: null }])), gridFor, ab: null }),
  gridCellDone: (cell, result) => set((s) => ({ grid: { ...s.grid, [cell]: { status: 'done', result } } })),
  gridCleared: () => set({ grid: {}, gridFor: null, ab: null }),
  abStarted: (order) => set({ ab: { order, choice: null } }),
  abChosen: (choice) =>
    set((s) => {
      if (!s.ab || s.ab.choice !== null) return {};
      return { ab: { ...s.ab, choice }, abTally: addToTally(s.abTally, s.ab.order, choice) };
    }),
  abClosed: () => set({ ab: null }),
});
