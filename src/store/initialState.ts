// The state the app starts with, in one place, so tests can reset the store to it.

import type { AppState } from './types';

/** Default pack: the one shipped in public/models/. */
export const DEFAULT_PACK_URL = 'models/soundstep-small/';
/** Teacher step counts offered before the manifest says otherwise. */
export const DEFAULT_TEACHER_STEPS: readonly number[] = [200, 100, 50, 25];
export const DEFAULT_STEPS = 50;
export const DEFAULT_SEED = 1;

export function createInitialState(): AppState {
  return {
    // pack
    packUrl: DEFAULT_PACK_URL,
    backendPreference: 'auto',
    loadStatus: 'idle',
    device: null,
    files: {},
    manifest: null,
    loadMs: null,
    // form
    prompt: '',
    denoiserId: null,
    steps: DEFAULT_STEPS,
    seed: DEFAULT_SEED,
    // generation
    run: null,
    result: null,
    lastOutcome: null,
    // error
    error: null,
  };
}
