// Audio-to-audio (SDEdit, docs/sampling.md E22) on the factory's micro pack, which has a VAE
// encoder (onnxruntime-node): strength 0 returns the sound's own latent, strength 1 ignores the
// sound (the same latent as text-to-audio with that seed), and strengths between move away
// from the sound's latent step by step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMicroPack } from '../testing/micro-pack';
import { maxAbsDiff, ortNode, rms } from '../testing/pack';
import type { GenerateRequest } from './api';
import { fsFetchFile } from './fs-fetch';
import { Pipeline } from './pipeline';

let pipeline: Pipeline;
let sound: Float32Array;

beforeAll(async () => {
  pipeline = await Pipeline.load({ ort: await ortNode(), backend: 'cpu', fetchFile: fsFetchFile(ensureMicroPack()) });
  const { num_samples: n, sample_rate: rate } = pipeline.manifest.audio;
  // a 440 Hz tone that swells and fades: something with a shape in time and frequency
  sound = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((Math.PI * i) / n) * Math.sin((2 * Math.PI * 440 * i) / rate));
}, 300_000);
afterAll(async () => {
  await pipeline?.dispose();
});

const request = (strength: number): GenerateRequest => ({
  prompt: 'a piano plays a melody',
  denoiserId: 'teacher',
  steps: 20,
  guidanceScale: 3,
  seed: 4,
  edit: { kind: 'audio', waveform: sound, strength },
});

describe('audio-to-audio (SDEdit, E22)', () => {
  it('strength 0 returns the sound’s own latent (the VAE encoder’s), with no network evaluation', async () => {
    const encoded = await pipeline.encodeAudio(sound);
    const out = await pipeline.generate(request(0));
    expect(Array.from(out.latent)).toEqual(Array.from(encoded));
    expect(out.networkEvaluations).toBe(0);
    expect(rms(encoded)).toBeGreaterThan(0.1); // the encoder saw a sound, not silence
  });

  it('strength 1 ignores the sound: the latent of text-to-audio with the same seed', async () => {
    const { edit: _, ...plain } = request(1);
    const [edited, text] = [await pipeline.generate(request(1)), await pipeline.generate(plain)];
    expect(maxAbsDiff(edited.latent, text.latent)).toBe(0);
    expect(edited.networkEvaluations).toBe(2 * 20);
  });

  it('a higher strength runs more steps and ends farther from the sound’s latent', async () => {
    const encoded = await pipeline.encodeAudio(sound);
    const distance = async (strength: number): Promise<number> => {
      const out = await pipeline.generate(request(strength));
      expect(out.networkEvaluations).toBe(2 * Math.round(strength * 20));
      const diff = out.latent.map((v, i) => v - encoded[i]!);
      return rms(diff);
    };
    const [low, high] = [await distance(0.2), await distance(0.9)];
    expect(low).toBeLessThan(high);
    expect(low).toBeGreaterThan(0);
  });

  it('refuses a sound of the wrong length and a strength outside [0, 1]', async () => {
    const bad = { ...request(0.5), edit: { kind: 'audio' as const, waveform: new Float32Array(100), strength: 0.5 } };
    await expect(pipeline.generate(bad)).rejects.toThrow(/has 100 samples; the pack needs 40960 \(2\.56 s at 16000 Hz\)/);
    await expect(pipeline.generate(request(1.5))).rejects.toThrow(/strength must be between 0 and 1, got 1.5/);
  });
});
