// The app store: typed slices combined into one zustand store.
// Actions are plain functions on the state, callable outside React
// (`useStore.getState().packReady(...)`): the worker's message router does exactly that.

import { create } from 'zustand';
import { createInitialState } from './initialState';
import { createPackSlice, type PackSlice } from './slices/packSlice';
import { createFormSlice, type FormSlice } from './slices/formSlice';
import { createGenerationSlice, type GenerationSlice } from './slices/generationSlice';
import { createErrorSlice, type ErrorSlice } from './slices/errorSlice';
import { createCompareSlice, type CompareSlice } from './slices/compareSlice';
import type { AppState } from './types';

export type Store = AppState & PackSlice & FormSlice & GenerationSlice & CompareSlice & ErrorSlice;

export const useStore = create<Store>()((...a) => ({
  ...createInitialState(),
  ...createPackSlice(...a),
  ...createFormSlice(...a),
  ...createGenerationSlice(...a),
  ...createErrorSlice(...a),
  ...createCompareSlice(...a),
}));

/** Put every state field back to its initial value (actions are kept). For tests. */
export function resetStore(): void {
  useStore.setState(createInitialState());
}

export * from './selectors';
export * from './types';
export { createInitialState, DEFAULT_PACK_URL, DEFAULT_TEACHER_STEPS, GUIDANCE_RANGE, MAX_VARIATIONS } from './initialState';
