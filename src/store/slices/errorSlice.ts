// Error slice: the one error shown in the page's alert region.

import type { StateCreator } from 'zustand';
import type { AppError } from '../types';
import type { Store } from '../index';

export interface ErrorActions {
  setError: (error: AppError) => void;
  clearError: () => void;
}

export type ErrorSlice = ErrorActions;

export const createErrorSlice: StateCreator<Store, [], [], ErrorSlice> = (set) => ({
  setError: (error) => set({ error }),
  clearError: () => set({ error: null }),
});
