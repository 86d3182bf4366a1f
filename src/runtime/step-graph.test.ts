// The WebGPU loop's step graph (./step-graph.ts) against the pure reference it replaces on the
// device: guide() (E20) then ddimStepV() (E4, E7), on onnxruntime-node's CPU EP. The reference
// computes in float64 and rounds once; the graph rounds after each float32 node, so the two
// agree to a few float32 ulps, held here to 1e-6 absolute.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ddimStepV } from '../engine/ddim';
import { guide } from '../engine/guidance';
import { gaussianNoise } from '../engine/rng';
import { alphaSigma, alphasCumprod, FINAL, trailingGrid } from '../engine/schedule';
import { maxAbsDiff } from '../testing/pack';
import { melTransposeGraphBytes, STEP_IO, stepGraphBytes } from './step-graph';
import { transpose } from './tensors';

const abar = alphasCumprod();
const scalar = (x: number): ort.Tensor => new ort.Tensor('float32', Float32Array.of(x), []);

/** The (C, T, F) latents: the pack's (4, 64, 16) and a longer, odd one. */
const SHAPES: Array<[number, number, number]> = [
  [4, 64, 16],
  [3, 130, 7],
];
/** (t, s) pairs of a 25-step trailing grid: the first step, a middle one, the last (to FINAL). */
const grid = trailingGrid(25);
const STEPS: Array<[number, number]> = [
  [grid[0]!, grid[1]!],
  [grid[12]!, grid[13]!],
  [grid[24]!, FINAL],
];

async function runStep(rows: 1 | 2, z: Float32Array, v: Float32Array, dims: number[], t: number, s: number, w?: number) {
  const session = await ort.InferenceSession.create(stepGraphBytes(rows));
  const a = alphaSigma(abar, t);
  const b = alphaSigma(abar, s);
  const feeds: Record<string, ort.Tensor> = {
    [STEP_IO.z]: new ort.Tensor('float32', z, [1, ...dims]),
    [STEP_IO.v]: new ort.Tensor('float32', v, [rows, ...dims]),
    [STEP_IO.alphaT]: scalar(a.alpha),
    [STEP_IO.sigmaT]: scalar(a.sigma),
    [STEP_IO.alphaS]: scalar(b.alpha),
    [STEP_IO.sigmaS]: scalar(b.sigma),
  };
  if (w !== undefined) feeds[STEP_IO.guidanceScale] = scalar(w);
  const out = await session.run(feeds);
  await session.release();
  return { out, reference: { a, b } };
}

describe('step graph = guide() + ddimStepV() (E20, E4, E7)', () => {
  for (const [C, T, F] of SHAPES) {
    const n = C * T * F;
    for (const [t, s] of STEPS) {
      it(`unguided (rows 1), latent (${C}, ${T}, ${F}), t ${t} -> s ${s}`, async () => {
        const z = gaussianNoise(t + 1, n);
        const v = gaussianNoise(t + 2, n);
        const { out, reference } = await runStep(1, z, v, [C, T, F], t, s);
        const want = ddimStepV(z, v, reference.a.alpha, reference.a.sigma, reference.b.alpha, reference.b.sigma);
        const got = out[STEP_IO.zNext]!;
        expect(got.dims).toEqual([1, C, T, F]);
        expect(maxAbsDiff(got.data as Float32Array, want)).toBeLessThanOrEqual(1e-6);
        expect(out[STEP_IO.zRows]).toBeUndefined();
      });

      it(`guided (rows 2, w 3.5), latent (${C}, ${T}, ${F}), t ${t} -> s ${s}`, async () => {
        const w = 3.5;
        const z = gaussianNoise(t + 3, n);
        const v = gaussianNoise(t + 4, 2 * n); // rows [cond, uncond], independent: a harder case than a U-Net's
        const { out, reference } = await runStep(2, z, v, [C, T, F], t, s, w);
        const g = guide(v.subarray(n), v.subarray(0, n), w);
        const want = ddimStepV(z, g, reference.a.alpha, reference.a.sigma, reference.b.alpha, reference.b.sigma);
        const zNext = out[STEP_IO.zNext]!.data as Float32Array;
        const zRows = out[STEP_IO.zRows]!;
        expect(out[STEP_IO.zNext]!.dims).toEqual([1, C, T, F]);
        expect(zRows.dims).toEqual([2, C, T, F]);
        expect(maxAbsDiff(zNext, want)).toBeLessThanOrEqual(1e-6);
        const rowsData = zRows.data as Float32Array;
        expect(maxAbsDiff(rowsData.subarray(0, n), zNext)).toBe(0);
        expect(maxAbsDiff(rowsData.subarray(n), zNext)).toBe(0);
      });
    }
  }
});

describe('mel transpose graph', () => {
  it('is tensors.ts transpose: (1, 1, frames, mels) -> (1, mels, frames), exactly', async () => {
    const [frames, mels] = [256, 64];
    const mel = gaussianNoise(9, frames * mels);
    const session = await ort.InferenceSession.create(melTransposeGraphBytes());
    const out = (await session.run({ log_mel: new ort.Tensor('float32', mel, [1, 1, frames, mels]) }))['vocoder_in']!;
    await session.release();
    expect(out.dims).toEqual([1, mels, frames]);
    expect(maxAbsDiff(out.data as Float32Array, transpose(mel, frames, mels))).toBe(0);
  });
});
