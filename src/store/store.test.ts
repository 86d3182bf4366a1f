import { beforeEach, describe, expect, it } from 'vitest';
import {
  resetStore,
  selectGenerateBlocker,
  selectMethodOptions,
  selectNfeEstimate,
  selectProgressPercent,
  selectProgressText,
  selectResult,
  selectRole,
  selectStepOptions,
  useStore,
  type GenerationResult,
} from './index';
import type { ManifestSummary } from '../domain/pack-summary';
import { HISTORY_LIMIT } from '../history';

const manifest: ManifestSummary = {
  id: 'p',
  name: 'pack',
  description: '',
  license: '',
  sampleRate: 16000,
  numSamples: 40960,
  clipSeconds: 2.56,
  maxTokens: 32,
  denoisers: [
    { id: 'teacher', role: 'teacher', method: null, steps: [200, 100, 50, 25], guidance: { type: 'classifier-free', defaultScale: 3 } },
    { id: 'bsa', role: 'student', method: 'bsa', steps: [4], guidance: { type: 'folded' } },
  ],
  mel: { sample_rate: 16000, n_fft: 1024, hop_length: 160, win_length: 1024, n_mels: 64, f_min: 0, f_max: 8000, log_floor: 1e-5 },
  metrics: null,
  vocabulary: [],
  defaultDenoiser: null,
};

/** A pack with students at 25 (bsa, eps) and 50 (bsa). */
const studentsPack: ManifestSummary = {
  ...manifest,
  denoisers: [
    { id: 'teacher', role: 'teacher', method: null, steps: [200, 100, 50, 25], guidance: { type: 'classifier-free', defaultScale: 4 } },
    { id: 'bsa-25', role: 'student', method: 'bsa', steps: [25], guidance: { type: 'folded' } },
    { id: 'eps-25', role: 'student', method: 'eps', steps: [25], guidance: { type: 'folded' } },
    { id: 'bsa-50', role: 'student', method: 'bsa', steps: [50], guidance: { type: 'folded' } },
  ],
};

function fakeResult(i: number): GenerationResult {
  return {
    key: `r${i}`, createdAt: i, packId: 'p', url: `blob:${i}`, wav: new Blob([]), fileName: `${i}.wav`, bytes: 0, maxTokens: 32,
    mel: manifest.mel, restored: false, request: { ...request, seed: i }, sampleRate: 16000, numSamples: 4, totalMs: 1,
    timings: { tokenize: 0, encode: 0, denoise: 0, decode: 0, vocode: 0 }, networkEvaluations: 50, truncated: false, tokenCount: 1,
  };
}

const request = { prompt: 'rain', denoiserId: 'teacher', steps: 25, guidanceScale: 3, seed: 1 };

beforeEach(() => resetStore());

describe('store', () => {
  it('blocks Generate with a reason: blank prompt first, then loading, failure, running', () => {
    const s = useStore.getState;
    expect(selectGenerateBlocker(s())).toBe('Type a prompt to generate');
    s().setPrompt('  \n ');
    expect(selectGenerateBlocker(s())).toBe('Type a prompt to generate');
    s().setPrompt('rain');
    expect(selectGenerateBlocker(s())).toBe('Loading the model pack…');
    s().packFailed();
    expect(selectGenerateBlocker(s())).toBe('The model pack could not be loaded');
    s().packReady({ status: 'ready', packUrl: '/p/', manifest, backend: 'wasm', loadMs: 1 });
    expect(selectGenerateBlocker(s())).toBeNull();
    s().generationStarted(1, request);
    expect(selectGenerateBlocker(s())).toBe('Generating…');
  });

  it('without a 25-step student starts on the teacher at its fewest steps, and keeps the steps in its list', () => {
    const s = useStore.getState;
    s().packReady({ status: 'ready', packUrl: '/p/', manifest, backend: 'wasm', loadMs: 1 });
    expect([s().denoiserId, s().steps]).toEqual(['teacher', 25]);
    expect(selectStepOptions(s())).toEqual([25, 50, 100, 200]);
    s().setDenoiser('bsa');
    expect(s().steps).toBe(4);
    expect(selectStepOptions(s())).toEqual([4]);
  });

  it('tracks progress by stage and step, and ignores replies for other runs', () => {
    const s = useStore.getState;
    s().generationStarted(7, request);
    expect(selectProgressText(s())).toBe('starting');
    s().generationProgressed({ status: 'progress', id: 7, stage: 'denoise', step: 0, totalSteps: 25 });
    s().generationProgressed({ status: 'progress', id: 7, stage: 'denoise', step: 10, totalSteps: 25 });
    s().generationProgressed({ status: 'progress', id: 6, stage: 'vocode' });
    expect(selectProgressText(s())).toBe('denoise: step 10 of 25');
    const p = selectProgressPercent(s());
    expect(p).toBeGreaterThan(6);
    expect(p).toBeLessThan(90);
    s().cancelRequested(7);
    expect(selectProgressText(s())).toBe('denoise: step 10 of 25 (cancelling)');
    s().generationCancelled(7);
    expect(s().run).toBeNull();
    expect(s().lastOutcome).toBe('cancelled');
    expect(selectProgressPercent(s())).toBeNull();
  });

  it('keeps the prompt through a load failure and an error', () => {
    const s = useStore.getState;
    s().setPrompt('waves');
    s().loadStarted('/p/', 'auto');
    s().packFailed();
    s().setError({ kind: 'pack', message: 'SHA-256 mismatch', file: 'vocoder.onnx', during: 'load', recoverable: false });
    expect(s().prompt).toBe('waves');
    expect(s().error?.file).toBe('vocoder.onnx');
    s().loadStarted('/p/', 'auto');
    expect(s().error).toBeNull();
  });

  it('an example fills the prompt; a typed prompt comes back with Undo; typing drops the Undo', () => {
    const s = useStore.getState;
    s().exampleChosen('a dog barks');
    expect([s().prompt, s().promptBefore]).toEqual(['a dog barks', null]); // empty box: nothing to undo
    s().setPrompt('my own words');
    s().exampleChosen('a piano plays a melody');
    s().exampleChosen('a harp plays a melody');
    expect([s().prompt, s().promptBefore]).toEqual(['a harp plays a melody', 'my own words']);
    s().exampleUndone();
    expect([s().prompt, s().promptBefore]).toEqual(['my own words', null]);
    s().exampleChosen('a dog barks');
    s().setPrompt('a dog barks loudly');
    expect(s().promptBefore).toBeNull();
    s().exampleUndone(); // nothing to undo: the edit stays
    expect(s().prompt).toBe('a dog barks loudly');
  });

  it('resetStore restores the initial state and keeps the actions', () => {
    useStore.getState().setPrompt('x');
    resetStore();
    expect(useStore.getState().prompt).toBe('');
    expect(typeof useStore.getState().setPrompt).toBe('function');
  });
});

describe('form: teacher/student switch, steps, guidance, variations', () => {
  const load = () => useStore.getState().packReady({ status: 'ready', packUrl: '/p/', manifest: studentsPack, backend: 'wasm', loadMs: 1 });

  it('starts on the best 25-step student; one click on the teacher keeps 25 steps; a later pack keeps the choice', () => {
    const s = useStore.getState;
    load();
    expect([s().denoiserId, s().steps, selectRole(s())]).toEqual(['bsa-25', 25, 'student']); // no metrics: the first
    const metricsRow = (denoiser: string, fad: number) => ({
      denoiser, steps: 25, nfe: 25, fad_judge: { mean: fad, ci95: null }, fd_mel: { mean: 1, ci95: null }, adherence: { mean: 0.5, ci95: null },
    });
    const metrics = { judge: 'j', runs: 1, rows: [metricsRow('bsa-25', 3), metricsRow('eps-25', 2)] };
    resetStore();
    s().packReady({ status: 'ready', packUrl: '/p/', manifest: { ...studentsPack, metrics }, backend: 'wasm', loadMs: 1 });
    expect([s().denoiserId, s().steps]).toEqual(['eps-25', 25]); // the lowest audio fad_judge
    resetStore();
    s().packReady({ status: 'ready', packUrl: '/p/', manifest: { ...studentsPack, metrics, defaultDenoiser: 'bsa-50' }, backend: 'wasm', loadMs: 1 });
    expect([s().denoiserId, s().steps]).toEqual(['bsa-50', 50]); // the manifest's default_denoiser wins
    s().setRole('teacher');
    expect([s().denoiserId, s().steps, selectNfeEstimate(s())?.perSound]).toEqual(['teacher', 50, 100]);
    s().packReady({ status: 'ready', packUrl: '/q/', manifest: { ...studentsPack, metrics }, backend: 'wasm', loadMs: 1 });
    expect([s().denoiserId, s().steps]).toEqual(['teacher', 50]); // the user's choice outlives a pack reload
  });

  it('the teacher offers all its step counts; the student side offers each N some student has', () => {
    const s = useStore.getState;
    load();
    expect(s().guidanceScale).toBe(4); // the teacher's default from the manifest
    s().setRole('teacher');
    expect(selectRole(s())).toBe('teacher');
    s().setSteps(100);
    s().setRole('student');
    // no student at 100: the nearest N (log scale) with a student: 50
    expect([s().denoiserId, s().steps]).toEqual(['bsa-50', 50]);
    expect(selectStepOptions(s())).toEqual([25, 50]);
    s().setSteps(25);
    expect(s().denoiserId).toBe('bsa-25'); // same method kept
    expect(selectMethodOptions(s())).toEqual(['bsa', 'eps']);
    s().setMethod('eps');
    expect(s().denoiserId).toBe('eps-25');
    s().setSteps(50); // eps has no 50: another method's student
    expect([s().denoiserId, s().steps]).toEqual(['bsa-50', 50]);
    s().setSteps(200); // no student at 200: ignored
    expect([s().denoiserId, s().steps]).toEqual(['bsa-50', 50]);
    s().setRole('teacher');
    expect([s().denoiserId, s().steps]).toEqual(['teacher', 50]);
  });

  it('the step slider comes back to the chosen method after step counts only another method has (bsa-5, bsa-1)', () => {
    const s = useStore.getState;
    const beyond: ManifestSummary = {
      ...studentsPack,
      denoisers: [
        ...studentsPack.denoisers,
        { id: 'bsa-5', role: 'student', method: 'bsa', steps: [5], guidance: { type: 'folded' } },
        { id: 'bsa-1', role: 'student', method: 'bsa', steps: [1], guidance: { type: 'folded' } },
      ],
      defaultDenoiser: 'eps-25', // a default listed after bsa-25, as the default of soundstep-small-next is
    };
    s().packReady({ status: 'ready', packUrl: '/p/', manifest: beyond, backend: 'wasm', loadMs: 1 });
    expect([s().denoiserId, s().studentMethod]).toEqual(['eps-25', 'eps']);
    // the keyboard's Home, then ArrowRight twice: 1, 5, 25
    for (const [steps, id] of [[1, 'bsa-1'], [5, 'bsa-5'], [25, 'eps-25']] as const) {
      s().setSteps(steps);
      expect([s().denoiserId, s().steps]).toEqual([id, steps]);
    }
    s().setDenoiser('bsa-50'); // a student picked by hand is the chosen method from then on
    s().setSteps(25);
    expect(s().denoiserId).toBe('bsa-25');
    s().setMethod('eps');
    s().setRole('teacher');
    s().setRole('student');
    expect([s().denoiserId, s().studentMethod]).toEqual(['eps-25', 'eps']);
  });

  it('NFE before generating: 2 per step with guidance, 1 for a student, times the variations', () => {
    const s = useStore.getState;
    load();
    s().setRole('teacher');
    s().setSteps(25);
    expect(selectNfeEstimate(s())).toEqual({ perStep: 2, perSound: 50, variations: 1, total: 50 });
    s().setVariations(3);
    s().setSteps(200);
    expect(selectNfeEstimate(s())).toEqual({ perStep: 2, perSound: 400, variations: 3, total: 1200 });
    s().setRole('student');
    expect(selectNfeEstimate(s())).toEqual({ perStep: 1, perSound: 50, variations: 3, total: 150 });
  });

  it('clamps guidance to 1..10 in steps of 0.5 and variations to 1..4; bad numbers change nothing or reset', () => {
    const s = useStore.getState;
    s().setGuidanceScale(4.3);
    expect(s().guidanceScale).toBe(4.5);
    s().setGuidanceScale(99);
    expect(s().guidanceScale).toBe(10);
    s().setGuidanceScale(Number.NaN);
    expect(s().guidanceScale).toBe(10);
    s().setVariations(9);
    expect(s().variations).toBe(4);
    s().setVariations(0);
    expect(s().variations).toBe(1);
    s().setSeed(-5);
    expect(s().seed).toBe(0);
    s().setSeed(12.7);
    expect(s().seed).toBe(12);
    s().setSeed(2 ** 60); // seed + 3 must stay a safe integer for the RNG
    expect(s().seed).toBe(Number.MAX_SAFE_INTEGER - 4);
  });
});

describe('results and A/B', () => {
  it('keeps the newest results first, at most HISTORY_LIMIT, and merges restored ones by time', () => {
    const s = useStore.getState;
    for (let i = 1; i <= HISTORY_LIMIT + 2; i++) s().resultAdded(fakeResult(i));
    expect(s().results).toHaveLength(HISTORY_LIMIT);
    expect(s().results[0]!.key).toBe(`r${HISTORY_LIMIT + 2}`);
    expect(selectResult(s())?.key).toBe(`r${HISTORY_LIMIT + 2}`);
    s().resultsCleared();
    s().resultAdded(fakeResult(50));
    s().resultsRestored([fakeResult(40), fakeResult(60), fakeResult(50)]);
    expect(s().results.map((r) => r.key)).toEqual(['r60', 'r50', 'r40']);
    s().resultRemoved('r50');
    expect(s().results.map((r) => r.key)).toEqual(['r60', 'r40']);
  });

  it('counts an A/B answer once and reveals it; a new fill closes the round', () => {
    const s = useStore.getState;
    s().abStarted(['bsa-25@25', 'teacher@25']);
    s().abChosen('A');
    s().abChosen('B'); // already answered: ignored
    expect(s().ab).toEqual({ order: ['bsa-25@25', 'teacher@25'], choice: 'A' });
    expect(s().abTally).toMatchObject({ rounds: 1, ties: 0, wins: { 'bsa-25@25': 1 } });
    s().gridStarted(['teacher@25'], { prompt: 'x', seed: 1, guidanceScale: 3, packUrl: '/p/' });
    expect(s().ab).toBeNull();
    expect(s().grid).toEqual({ 'teacher@25': { status: 'queued', result: null } });
    expect(s().abTally.rounds).toBe(1); // the tally lasts the visit
  });
});
