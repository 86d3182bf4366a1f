// The negative prompt on the REAL shipped pack (onnxruntime-node): for the guided teacher it is
// the prompt of the unconditional row of classifier-free guidance, in place of "", and it changes
// the sound; a folded-guidance student has no unconditional row, and its sound stays the same.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { maxAbsDiff, ortNode, requirePack } from '../testing/pack';
import type { GenerateRequest } from './api';
import { fsFetchFile } from './fs-fetch';
import { Pipeline } from './pipeline';
import { unconditionalPrompt } from './request-checks';

let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await Pipeline.load({ ort: await ortNode(), backend: 'cpu', fetchFile: fsFetchFile(requirePack()) });
});
afterAll(async () => {
  await pipeline?.dispose();
});

/** The token ids of `prompt` as the pipeline pads them. */
function idsOf(prompt: string): number[] {
  const { max_tokens: L, pad_token_id: pad } = pipeline.manifest.text;
  return Array.from(pipeline.promptTokenizer.encodePrompt(prompt, L, pad).inputIds, Number);
}

describe('negative prompt', () => {
  const NEGATIVE = 'a man speaks';

  it('the unconditional prompt: the negative one when given, else the pack’s ("" when blank)', () => {
    const base: GenerateRequest = { prompt: 'x', denoiserId: 'teacher', steps: 25, guidanceScale: 3, seed: 1 };
    expect(unconditionalPrompt(pipeline.manifest, base)).toBe('');
    expect(unconditionalPrompt(pipeline.manifest, { ...base, negativePrompt: ' \n' })).toBe('');
    expect(unconditionalPrompt(pipeline.manifest, { ...base, negativePrompt: NEGATIVE })).toBe(NEGATIVE);
  });

  it('replaces "" in the guided teacher’s unconditional row and changes its sound', async () => {
    const L = pipeline.manifest.text.max_tokens;
    const encode = vi.spyOn(pipeline, 'encodeText');
    const request: GenerateRequest = { prompt: 'a piano plays a melody', denoiserId: 'teacher', steps: 5, guidanceScale: 3, seed: 7 };
    const plain = await pipeline.generate(request);
    const negative = await pipeline.generate({ ...request, negativePrompt: NEGATIVE });
    const blank = await pipeline.generate({ ...request, negativePrompt: '   ' });
    // what the text encoder was given: [cond, uncond] rows, the uncond row "" or the negative prompt
    const rows = encode.mock.calls.map(([ids, , batch]) => {
      expect(batch).toBe(2);
      return [Array.from(ids.subarray(0, L), Number), Array.from(ids.subarray(L, 2 * L), Number)];
    });
    encode.mockRestore();
    expect(rows.map((r) => r[0])).toEqual([idsOf(request.prompt), idsOf(request.prompt), idsOf(request.prompt)]);
    expect(rows.map((r) => r[1])).toEqual([idsOf(''), idsOf(NEGATIVE), idsOf('')]);
    expect(negative.networkEvaluations).toBe(plain.networkEvaluations); // still 2 per step
    const diff = maxAbsDiff(plain.waveform, negative.waveform);
    expect(diff).toBeGreaterThan(1e-2); // guidance steers away from "a man speaks" instead of from ""
    expect(blank.waveform).toEqual(plain.waveform); // a blank negative prompt is no negative prompt
  });

  it('leaves a folded-guidance student’s sound unchanged: it has no unconditional row', async () => {
    const student = pipeline.manifest.denoisers.find((d) => d.role === 'student' && d.steps[0] === 25);
    if (!student) throw new Error('the shipped pack has no 25-step student');
    const encode = vi.spyOn(pipeline, 'encodeText');
    const request: GenerateRequest = { prompt: 'a piano plays a melody', denoiserId: student.id, steps: 25, guidanceScale: 1, seed: 7 };
    const plain = await pipeline.generate(request);
    const negative = await pipeline.generate({ ...request, negativePrompt: NEGATIVE });
    expect(encode.mock.calls.map(([, , batch]) => batch)).toEqual([1, 1]); // the prompt's row alone
    encode.mockRestore();
    expect(negative.waveform).toEqual(plain.waveform);
    expect(negative.networkEvaluations).toBe(25);
  });
});
