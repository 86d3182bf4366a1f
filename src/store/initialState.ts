// The state the app starts with, in one place, so tests can reset the store to it.

import type { AppState } from './types';
import { emptyTally } from '../compare/grid';

/**
 * Default pack, one of those shipped in public/models/: soundstep-small-next (varied captions, so no
 * known sound comes out silent; docs/listening.md). soundstep-small stays loadable beside it.
 */
export const DEFAULT_PACK_URL = 'models/soundstep-small-next/';
/** Teacher step counts offered before the manifest says otherwise. */
export const DEFAULT_TEACHER_STEPS: readonly number[] = [200, 100, 50, 25];
export const DEFAULT_STEPS = 50;
export const DEFAULT_SEED = 1;
/** Guidance scale before the manifest gives the teacher's default. */
export const DEFAULT_GUIDANCE_SCALE = 3;
/** Guidance scales the form offers. */
export const GUIDANCE_RANGE = { min: 1, max: 10, step: 0.5 } as const;
/** Most variations per Generate. */
export const MAX_VARIATIONS = 4;

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
    loadPhase: null,
    precision: null,
    packLoad: null,
    onDemand: {},
    // form
    prompt: '',
    promptBefore: null,
    promptReading: null,
    negativePrompt: '',
    denoiserId: null,
    studentMethod: null,
    steps: DEFAULT_STEPS,
    seed: DEFAULT_SEED,
    seedFixed: false,
    guidanceScale: DEFAULT_GUIDANCE_SCALE,
    variations: 1,
    seconds: null,
    // generation
    run: null,
    job: null,
    results: [],
    lastOutcome: null,
    lastCancel: null,
    historyStatus: 'opening',
    historyMessage: null,
    // comparison
    grid: {},
    gridFor: null,
    ab: null,
    abTally: emptyTally(),
    // error
    error: null,
  };
}
