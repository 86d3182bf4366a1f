import { beforeEach, describe, expect, it } from 'vitest';
import {
  resetStore,
  selectGenerateBlocker,
  selectProgressPercent,
  selectProgressText,
  selectStepOptions,
  useStore,
} from './index';
import type { ManifestSummary } from '../worker/protocol';

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
};

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

  it('picks the teacher when the pack is ready and keeps the steps in its list', () => {
    const s = useStore.getState;
    s().packReady({ status: 'ready', packUrl: '/p/', manifest, backend: 'wasm', loadMs: 1 });
    expect(s().denoiserId).toBe('teacher');
    expect(selectStepOptions(s())).toEqual([200, 100, 50, 25]);
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
    s().setError({ message: 'SHA-256 mismatch', file: 'vocoder.onnx', during: 'load', recoverable: false });
    expect(s().prompt).toBe('waves');
    expect(s().error?.file).toBe('vocoder.onnx');
    s().loadStarted('/p/', 'auto');
    expect(s().error).toBeNull();
  });

  it('resetStore restores the initial state and keeps the actions', () => {
    useStore.getState().setPrompt('x');
    resetStore();
    expect(useStore.getState().prompt).toBe('');
    expect(typeof useStore.getState().setPrompt).toBe('function');
  });
});
