// A prompt that names an order, through the Pipeline on onnxruntime-node over the REAL shipped pack
// (docs/sampling.md E23): its two parts are encoded and blended along time at every step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussianNoise } from '../engine/rng';
import { sample } from '../engine/sample';
import { alphasCumprod, trailingGrid } from '../engine/schedule';
import { splitDenoise } from '../engine/time-split';
import { ortNode, requirePack } from '../testing/pack';
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

const PROMPT = 'a dog barks followed by a man speaking';
const PARTS = ['a dog barks', 'a man speaking'] as const;

const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: PROMPT, denoiserId: 'teacher', steps: 4, guidanceScale: 3, seed: 5, ...over,
});

/** Hidden states and mask of `prompts`, encoded as one batch. */
async function encode(prompts: readonly string[]): Promise<{ hidden: Float32Array; mask: BigInt64Array }> {
  const m = pipeline.manifest;
  const rows = prompts.map((p) => pipeline.promptTokenizer.encodePrompt(p, m.text.max_tokens, m.text.pad_token_id));
  const mask = BigInt64Array.from(rows.flatMap((r) => [...r.attentionMask]));
  const ids = BigInt64Array.from(rows.flatMap((r) => [...r.inputIds]));
  return { hidden: await pipeline.encodeText(ids, mask, prompts.length), mask };
}

describe('a prompt that names an order (E23)', () => {
  it('the guided teacher: the parts and the unconditional row, 3 evaluations per step, the same waveform as sample() over splitDenoise', async () => {
    const req = request();
    const result = await pipeline.generate(req);
    expect(result.timeSplit).toEqual(PARTS);
    expect(result.networkEvaluations).toBe(3 * req.steps);

    const m = pipeline.manifest;
    const { channels: C, frames: T, bins: F } = m.latent;
    const { hidden, mask } = await encode([...PARTS, m.text.unconditional_prompt]);
    const denoise = splitDenoise((z, t, rows) => pipeline.denoiseOnce(req.denoiserId, z, t, hidden, mask, rows), [C, T, F]);
    const z = await sample(denoise, gaussianNoise(req.seed, C * T * F), trailingGrid(req.steps), alphasCumprod(), req.guidanceScale);
    const wave = (await pipeline.vocode(await pipeline.decodeLatent(z))).map((x) => Math.max(-1, Math.min(1, x)));
    expect(result.waveform).toEqual(wave);
  });

  it('a student: 2 evaluations per step; splitInTime false samples the whole prompt (1 per step, no parts, another sound)', async () => {
    const student = pipeline.manifest.denoisers.find((d) => d.role === 'student');
    if (!student) throw new Error('the shipped pack has no student');
    const steps = student.steps[0];
    const split = await pipeline.generate(request({ denoiserId: student.id, steps }));
    expect(split.timeSplit).toEqual(PARTS);
    expect(split.networkEvaluations).toBe(2 * steps);
    const whole = await pipeline.generate(request({ denoiserId: student.id, steps, splitInTime: false }));
    expect(whole.timeSplit).toBeUndefined();
    expect(whole.networkEvaluations).toBe(steps);
    expect(whole.waveform).not.toEqual(split.waveform);
  });

  it('a prompt without an order is sampled as before', async () => {
    const r = await pipeline.generate(request({ prompt: 'a dog barks while rain falls' }));
    expect(r.timeSplit).toBeUndefined();
    expect(r.networkEvaluations).toBe(2 * 4);
  });
});
