// Integration: the Pipeline on onnxruntime-node over the REAL shipped pack
// (public/models/soundstep-small). Fails with a clear message when the pack is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussianNoise } from '../engine/rng';
import { sample, type Denoise } from '../engine/sample';
import { alphasCumprod, trailingGrid } from '../engine/schedule';
import { loadGolden, maxAbsDiff, ortNode, requirePack, rms } from '../testing/pack';
import type { GenerateRequest, Progress } from './api';
import { CancelledError, errorKind, InputError } from './errors';
import { fsFetchFile } from './fs-fetch';
import type { Golden } from './golden';
import { Pipeline } from './pipeline';

/** hidden states from ORT (int8 encoder) vs the factory's ONNX Runtime: the same graph */
const V_TOLERANCE = 1e-4;

let pipeline: Pipeline;
let golden: Golden;

beforeAll(async () => {
  const dir = requirePack();
  golden = loadGolden();
  pipeline = await Pipeline.load({ ort: await ortNode(), backend: 'cpu', fetchFile: fsFetchFile(dir) });
});
afterAll(async () => {
  await pipeline?.dispose();
});

function goldenRows(): { ids: BigInt64Array; mask: BigInt64Array; L: number } {
  const t = golden.trajectory;
  return {
    ids: BigInt64Array.from(t.input_ids.flat(), BigInt),
    mask: BigInt64Array.from(t.attention_mask.flat(), BigInt),
    L: t.input_ids[0]!.length,
  };
}

function teacherId(): string {
  return golden.trajectory.denoiser;
}

describe('tokenizer (all-MiniLM-L6-v2 WordPiece via @huggingface/tokenizers)', () => {
  it('gives the golden input_ids and attention_mask for the prompt and for ""', () => {
    const m = pipeline.manifest;
    const t = golden.trajectory;
    const rows = [t.prompt, m.text.unconditional_prompt].map((p) =>
      pipeline.promptTokenizer.encodePrompt(p, m.text.max_tokens, m.text.pad_token_id),
    );
    rows.forEach((r, i) => {
      expect(Array.from(r.inputIds, Number), `row ${i}`).toEqual(t.input_ids[i]);
      expect(Array.from(r.attentionMask, Number), `row ${i}`).toEqual(t.attention_mask[i]);
      expect(r.truncated).toBe(false);
    });
    expect(pipeline.promptTokenizer.tokens('a dog barks')).toEqual(['[CLS]', 'a', 'dog', 'bark', '##s', '[SEP]']);
  });

  it('truncates an overlong prompt keeping the final [SEP], and flags it', () => {
    const m = pipeline.manifest;
    const long = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const r = pipeline.promptTokenizer.encodePrompt(long, m.text.max_tokens, m.text.pad_token_id);
    const full = pipeline.promptTokenizer.ids(long);
    expect(r.truncated).toBe(true);
    expect(r.tokenCount).toBe(full.length);
    expect(r.tokenCount).toBeGreaterThan(m.text.max_tokens);
    expect(r.inputIds.length).toBe(m.text.max_tokens);
    expect(Array.from(r.inputIds, Number)).toEqual([...full.slice(0, m.text.max_tokens - 1), full.at(-1)]);
    expect(pipeline.promptTokenizer.tokens('x').at(-1)).toBe('[SEP]');
    expect(Number(r.inputIds.at(-1))).toBe(pipeline.promptTokenizer.ids('x').at(-1));
    expect(r.attentionMask.every((v) => v === 1n)).toBe(true);
  });
});

describe('text encoding', () => {
  it('is batch-invariant: a prompt encoded alone equals its row in a batch of 2 (max abs diff < 1e-5)', async () => {
    // The student encodes its prompt alone, the guided teacher with "" beside it, and the factory
    // in batches of 64: all must see the same hidden states (int8 weights, float activations).
    const m = pipeline.manifest;
    const { ids, mask, L } = goldenRows();
    const size = L * m.text.hidden_size;
    const batched = await pipeline.encodeText(ids, mask, 2);
    const alone0 = await pipeline.encodeText(ids.subarray(0, L), mask.subarray(0, L), 1);
    const alone1 = await pipeline.encodeText(ids.subarray(L), mask.subarray(L), 1);
    expect(maxAbsDiff(batched.subarray(0, size), alone0)).toBeLessThan(1e-5);
    expect(maxAbsDiff(batched.subarray(size), alone1)).toBeLessThan(1e-5);
  });
});

describe('networks against the golden trajectory', () => {
  it(`one denoiser evaluation on the golden inputs equals the stored v_cond and v_uncond (max abs error < ${V_TOLERANCE})`, async () => {
    const t = golden.trajectory;
    const { ids, mask } = goldenRows();
    const hidden = await pipeline.encodeText(ids, mask, 2);
    const noise = Float32Array.from(t.noise);
    const sample = new Float32Array(2 * noise.length);
    sample.set(noise, 0);
    sample.set(noise, noise.length);
    const v = await pipeline.denoiseOnce(teacherId(), sample, t.timesteps[0]!, hidden, mask, 2);
    const errCond = maxAbsDiff(v.subarray(0, noise.length), t.v_cond[0]!);
    const errUncond = maxAbsDiff(v.subarray(noise.length), t.v_uncond[0]!);
    console.info(`denoiser vs golden at t = ${t.timesteps[0]}: cond ${errCond.toExponential(2)}, uncond ${errUncond.toExponential(2)}`);
    expect(errCond).toBeLessThan(V_TOLERANCE);
    expect(errUncond).toBeLessThan(V_TOLERANCE);
  });

  it('sample() over the denoiser session, decode and vocode reproduce the golden 4-step run', async () => {
    const t = golden.trajectory;
    const { ids, mask } = goldenRows();
    const hidden = await pipeline.encodeText(ids, mask, 2);
    const denoise: Denoise = (z, timestep, rows) => pipeline.denoiseOnce(teacherId(), z, timestep, hidden, mask, rows);
    const errors: number[] = [];
    const z = await sample(denoise, Float32Array.from(t.noise), t.timesteps, alphasCumprod(), t.guidance_scale, (k, zk) => {
      errors.push(maxAbsDiff(zk, t.z[k]!));
    });
    expect(errors.length).toBe(t.steps);
    errors.forEach((err, k) => expect(err, `z after step ${k}`).toBeLessThan(1e-3));
    const logMel = await pipeline.decodeLatent(z);
    const logMelSum = logMel.reduce((a, b) => a + b, 0);
    expect(Math.abs(logMelSum - t.log_mel_sum)).toBeLessThan(1e-3 * Math.max(1, Math.abs(t.log_mel_sum)));
    const wave = await pipeline.vocode(logMel);
    expect(wave.length).toBe(pipeline.manifest.audio.num_samples);
    expect(Math.abs(rms(wave) - t.waveform_rms)).toBeLessThan(1e-3 * t.waveform_rms + 1e-7);
  });
});

describe('generate', () => {
  const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
    prompt: 'a dog barks',
    denoiserId: teacherId(),
    steps: 5,
    guidanceScale: 3,
    seed: 7,
    ...over,
  });

  it('returns audio.num_samples samples, not silent, with progress per stage and step', async () => {
    const progress: Progress[] = [];
    const r = await pipeline.generate(request(), { onProgress: (p) => progress.push(p) });
    const m = pipeline.manifest;
    expect(r.waveform.length).toBe(m.audio.num_samples);
    expect(r.sampleRate).toBe(m.audio.sample_rate);
    expect(r.waveform.every((x) => Number.isFinite(x) && Math.abs(x) <= 1)).toBe(true);
    expect(rms(r.waveform)).toBeGreaterThan(1e-3);
    expect(r.networkEvaluations).toBe(10);
    expect(r.truncated).toBe(false);
    expect(r.tokenCount).toBe(6);
    expect(Object.keys(r.timings).sort()).toEqual(['decode', 'denoise', 'encode', 'tokenize', 'vocode']);
    expect(progress.map((p) => p.stage)).toEqual([
      'tokenize', 'encode', 'denoise', 'denoise', 'denoise', 'denoise', 'denoise', 'denoise', 'decode', 'vocode',
    ]);
    expect(progress.filter((p) => p.stage === 'denoise').map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('is sample() from gaussianNoise(seed), then decode and vocode: the same waveform', async () => {
    const req = request({ steps: 4 });
    const m = pipeline.manifest;
    const rows = [req.prompt, m.text.unconditional_prompt].map((p) =>
      pipeline.promptTokenizer.encodePrompt(p, m.text.max_tokens, m.text.pad_token_id),
    );
    const mask = BigInt64Array.from(rows.flatMap((r) => [...r.attentionMask]));
    const ids = BigInt64Array.from(rows.flatMap((r) => [...r.inputIds]));
    const hidden = await pipeline.encodeText(ids, mask, 2);
    const denoise: Denoise = (z, timestep, n) => pipeline.denoiseOnce(req.denoiserId, z, timestep, hidden, mask, n);
    const noise = gaussianNoise(req.seed, m.latent.channels * m.latent.frames * m.latent.bins);
    const z = await sample(denoise, noise, trailingGrid(req.steps), alphasCumprod(), req.guidanceScale);
    const wave = (await pipeline.vocode(await pipeline.decodeLatent(z))).map((x) => Math.max(-1, Math.min(1, x)));
    expect((await pipeline.generate(req)).waveform).toEqual(wave);
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const a = await pipeline.generate(request({ steps: 4 }));
    const b = await pipeline.generate(request({ steps: 4 }));
    const c = await pipeline.generate(request({ steps: 4, seed: 8 }));
    expect(b.waveform).toEqual(a.waveform);
    expect(c.waveform).not.toEqual(a.waveform);
  });

  it('runs every student of the pack at its own N with one evaluation per step', async () => {
    for (const d of pipeline.manifest.denoisers.filter((e) => e.role === 'student')) {
      const n = d.steps[0];
      const r = await pipeline.generate(request({ denoiserId: d.id, steps: n }));
      expect(r.networkEvaluations, d.id).toBe(n);
      expect(r.waveform.length).toBe(pipeline.manifest.audio.num_samples);
      expect(rms(r.waveform), d.id).toBeGreaterThan(1e-3);
      await expect(pipeline.generate(request({ denoiserId: d.id, steps: n * 2 }))).rejects.toThrow(/distilled for/);
    }
  });

  it('flags a truncated prompt', async () => {
    const long = Array.from({ length: 60 }, () => 'thunder').join(' ');
    const r = await pipeline.generate(request({ prompt: long, steps: 1 }));
    expect(r.truncated).toBe(true);
    expect(r.tokenCount).toBeGreaterThan(pipeline.manifest.text.max_tokens);
  });

  it('refuses bad requests with a clear error', async () => {
    await expect(pipeline.generate(request({ denoiserId: 'nope' }))).rejects.toThrow(/unknown denoiser "nope" \(this pack has: /);
    await expect(pipeline.generate(request({ steps: 3 }))).rejects.toThrow(/steps 3 does not divide 1000/);
    await expect(pipeline.generate(request({ steps: 0 }))).rejects.toThrow(/positive integer/);
    await expect(pipeline.generate(request({ seed: -1 }))).rejects.toThrow(/seed/);
    for (const bad of [{ denoiserId: 'nope' }, { steps: 3 }, { steps: 0 }, { seed: -1 }, { guidanceScale: Number.NaN }]) {
      const e = await pipeline.generate(request(bad)).catch((x: unknown) => x);
      expect(e, JSON.stringify(bad)).toBeInstanceOf(InputError);
      expect(errorKind(e), JSON.stringify(bad)).toBe('input');
    }
  });

  it('refuses denoiser inputs of the wrong size with kind input, naming the input', async () => {
    const m = pipeline.manifest;
    const size = m.latent.channels * m.latent.frames * m.latent.bins;
    const L = m.text.max_tokens;
    const mask = new BigInt64Array(L).fill(1n);
    const hidden = new Float32Array(L * m.text.hidden_size);
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [pipeline.denoiseOnce(teacherId(), new Float32Array(size + 1), 0, hidden, mask, 1), /^sample has /],
      [pipeline.denoiseOnce(teacherId(), new Float32Array(size), 0, hidden.subarray(1), mask, 1), /^encoder_hidden_states has /],
      [pipeline.denoiseOnce(teacherId(), new Float32Array(size), 1000, hidden, mask, 1), /^timestep 1000 is outside 0\.\.999/],
      [pipeline.denoiseOnce(teacherId(), new Float32Array(size), 0, hidden, mask, 0), /^encoder_attention_mask has /],
      [pipeline.decodeLatent(new Float32Array(size - 1)), /^latent has /],
    ];
    for (const [run, text] of cases) {
      const e = await run.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).message).toMatch(text);
    }
  });

  it('aborts between network evaluations with a CancelledError (kind cancelled, name AbortError)', async () => {
    const controller = new AbortController();
    const error = await pipeline
      .generate(request({ steps: 50 }), {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stage === 'denoise' && p.step === 2) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({ kind: 'cancelled', name: 'AbortError' });
    expect(errorKind(error)).toBe('cancelled');
    // the pipeline is still usable afterwards
    const r = await pipeline.generate(request({ steps: 1 }));
    expect(r.waveform.length).toBe(pipeline.manifest.audio.num_samples);
  });
});

describe('onnxruntime-web (WASM) in Node', () => {
  it('gives the same denoiser output as onnxruntime-node on the golden inputs', async () => {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    const web = await Pipeline.load({ ort, backend: 'wasm', fetchFile: fsFetchFile(requirePack()) });
    try {
      const t = golden.trajectory;
      const { ids, mask } = goldenRows();
      const noise = Float32Array.from(t.noise);
      const sample = new Float32Array(2 * noise.length);
      sample.set(noise);
      sample.set(noise, noise.length);
      const hiddenCpu = await pipeline.encodeText(ids, mask, 2);
      const hiddenWeb = await web.encodeText(ids, mask, 2);
      expect(maxAbsDiff(hiddenCpu, hiddenWeb)).toBeLessThan(1e-3);
      const vCpu = await pipeline.denoiseOnce(teacherId(), sample, t.timesteps[1]!, hiddenCpu, mask, 2);
      const vWeb = await web.denoiseOnce(teacherId(), sample, t.timesteps[1]!, hiddenCpu, mask, 2);
      expect(maxAbsDiff(vCpu, vWeb)).toBeLessThan(1e-4);
    } finally {
      await web.dispose();
    }
  });
});
