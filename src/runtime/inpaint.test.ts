// Inpainting on the REAL shipped pack (onnxruntime-node, docs/sampling.md E21): a range of a
// result's latent is regenerated and every other latent frame is kept to 1e-4; the range changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesOfRange } from '../engine/latent-edit';
import { maxAbsDiff, ortNode, requirePack } from '../testing/pack';
import type { GenerateRequest } from './api';
import { fsFetchFile } from './fs-fetch';
import { Pipeline } from './pipeline';

let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await Pipeline.load({ ort: await ortNode(), backend: 'cpu', fetchFile: fsFetchFile(requirePack()) });
});
afterAll(async () => {
  await pipeline?.dispose();
});

/** Values of latent frames [start, end) (inside) or all other frames (outside), per channel and bin. */
function frames(z: Float32Array, range: { start: number; end: number }, inside: boolean): number[] {
  const { channels: C, frames: T, bins: F } = pipeline.manifest.latent;
  const out: number[] = [];
  for (let c = 0; c < C; c++)
    for (let t = 0; t < T; t++) {
      if ((t >= range.start && t < range.end) !== inside) continue;
      for (let f = 0; f < F; f++) out.push(z[(c * T + t) * F + f]!);
    }
  return out;
}

describe('inpainting (latent masking, E21)', () => {
  const base: GenerateRequest = { prompt: 'a dog barks', denoiserId: 'bsa-25', steps: 25, guidanceScale: 1, seed: 3 };

  it.each([
    ['a 25-step student', base],
    ['the guided teacher', { ...base, denoiserId: 'teacher', steps: 10, guidanceScale: 3 }],
  ])('%s keeps every latent frame outside the range to 1e-4 and regenerates the range', async (_, request) => {
    const first = await pipeline.generate(request);
    const { clip_seconds: d } = pipeline.manifest.audio;
    const range = framesOfRange(0.64, 1.28, d, pipeline.manifest.latent.frames);
    expect(range).toEqual({ start: 16, end: 32 });
    const again = await pipeline.generate({
      ...request,
      prompt: 'a piano plays a melody',
      seed: 99,
      edit: { kind: 'inpaint', latent: first.latent, ...{ startFrame: range.start, endFrame: range.end } },
    });
    expect(maxAbsDiff(frames(again.latent, range, false), frames(first.latent, range, false))).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(frames(again.latent, range, true), frames(first.latent, range, true))).toBeGreaterThan(0.1);
    expect(again.networkEvaluations).toBe(first.networkEvaluations); // every step runs
    // the result keeps its own latent, so it can be inpainted again: a second range, the first kept
    const third = await pipeline.generate({ ...request, seed: 5, edit: { kind: 'inpaint', latent: again.latent, startFrame: 40, endFrame: 48 } });
    expect(maxAbsDiff(frames(third.latent, { start: 40, end: 48 }, false), frames(again.latent, { start: 40, end: 48 }, false))).toBeLessThanOrEqual(1e-4);
  });

  it('refuses a latent of another shape and an empty or outside range, saying what to do', async () => {
    const size = 4 * 64 * 16;
    const edit = (startFrame: number, endFrame: number, n = size) => ({ ...base, edit: { kind: 'inpaint' as const, latent: new Float32Array(n), startFrame, endFrame } });
    await expect(pipeline.generate(edit(0, 8, 10))).rejects.toThrow(/latent to inpaint has 10 values.*inpaint a result of this pack/);
    await expect(pipeline.generate(edit(8, 8))).rejects.toThrow(/latent frames 8\.\.8.*inside 0\.\.64 and not be empty/);
    await expect(pipeline.generate(edit(60, 70))).rejects.toThrow(/latent frames 60\.\.70/);
  });

  it('the shipped pack has no VAE encoder: audio-to-audio is refused with the reason', async () => {
    const n = pipeline.manifest.audio.num_samples;
    const request = { ...base, edit: { kind: 'audio' as const, waveform: new Float32Array(n), strength: 0.5 } };
    await expect(pipeline.generate(request)).rejects.toThrow(/this pack has no VAE encoder/);
  });
});
