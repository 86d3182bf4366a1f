// Longer clips on the REAL shipped pack (onnxruntime-node): its graphs declare their time axis
// free (factory/soundstep_factory/time_axis.py), so a 5.12 s or 10.24 s request runs a latent 2x
// or 4x as long through the same graphs. The audio has the asked length and no silent stretch;
// lengths that are not whole multiples of the pack's clip, or too long, are refused with a sentence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeManifest } from '../domain/pack-summary';
import { ortNode, requirePack } from '../testing/pack';
import type { GenerateRequest } from './api';
import { clipMultiple, clipSecondsChoices, MAX_CLIP_SECONDS } from './clip-length';
import { fsFetchFile } from './fs-fetch';
import { Pipeline } from './pipeline';

let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await Pipeline.load({ ort: await ortNode(), backend: 'cpu', fetchFile: fsFetchFile(requirePack()) });
});
afterAll(async () => {
  await pipeline?.dispose();
});

/** RMS level in dBFS of each `window`-sample stretch. */
function windowLevels(x: Float32Array, window: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + window <= x.length; s += window) {
    let sum = 0;
    for (let i = s; i < s + window; i++) sum += x[i]! * x[i]!;
    out.push(10 * Math.log10(Math.max(sum / window, 1e-12)));
  }
  return out;
}

describe('clip length', () => {
  it('offers every whole multiple of the pack clip up to 10.24 s, when the graphs allow it', () => {
    expect(clipSecondsChoices(2.56, true)).toEqual([2.56, 5.12, 7.68, 10.24]);
    expect(clipSecondsChoices(2.56, false)).toEqual([2.56]);
    expect(clipSecondsChoices(10.24, true)).toEqual([10.24]);
    expect(MAX_CLIP_SECONDS).toBe(10.24);
  });

  it('k for a request: 1 by default, refuses what is no whole multiple or too long, naming the lengths', () => {
    const m = pipeline.manifest;
    expect(clipMultiple(m, undefined)).toBe(1);
    expect(clipMultiple(m, 5.12)).toBe(2);
    expect(clipMultiple(m, 10.24)).toBe(4);
    expect(() => clipMultiple(m, 3)).toThrow('this pack makes clips of 2.56, 5.12, 7.68, 10.24 s');
    expect(() => clipMultiple(m, 12.8)).toThrow('a clip of 12.8 s cannot be made');
  });

  it('the shipped pack takes longer latents, and the page is offered every length up to 10.24 s', () => {
    expect(pipeline.longClips).toBe(true);
    expect(summarizeManifest(pipeline.manifest, pipeline.longClips).clipLengths).toEqual([2.56, 5.12, 7.68, 10.24]);
    expect(summarizeManifest(pipeline.manifest, false).clipLengths).toEqual([2.56]); // graphs fixed at their length
  });

  it.each([
    [5.12, 81_920],
    [10.24, 163_840],
  ])('a %s s clip has %i samples and no silent 2.56 s stretch', async (seconds, samples) => {
    const request: GenerateRequest = { prompt: 'a dog barks while rain falls', denoiserId: 'snr+1-25', steps: 25, guidanceScale: 3, seed: 3, seconds };
    const result = await pipeline.generate(request);
    expect(result.waveform.length).toBe(samples);
    expect(result.latent.length).toBe(4 * 64 * (seconds / 2.56) * 16);
    const levels = windowLevels(result.waveform, pipeline.manifest.audio.num_samples);
    expect(levels).toHaveLength(seconds / 2.56);
    for (const db of levels) expect(db).toBeGreaterThan(-45); // every stretch sounds (silence: -120)
    // not the pack-length clip repeated: the latent is one piece, its stretches differ
    const [a, b] = [result.waveform.subarray(0, 40_960), result.waveform.subarray(40_960, 81_920)];
    expect(a.some((v, i) => Math.abs(v - b[i]!) > 1e-3)).toBe(true);
  });

  it('an edit stays at the pack length', async () => {
    const latent = new Float32Array(4 * 64 * 16);
    const request: GenerateRequest = {
      prompt: 'a dog barks', denoiserId: 'snr+1-25', steps: 25, guidanceScale: 3, seed: 1, seconds: 5.12,
      edit: { kind: 'inpaint', latent, startFrame: 0, endFrame: 8 },
    };
    await expect(pipeline.generate(request)).rejects.toThrow("inpainting and audio-to-audio work on clips of the pack's own 2.56 s");
  });
});
