// The worker's session wrappers (withAbortCheck, then withYieldingRuns, as the pack loader stacks
// them) on onnxruntime-node: a run with pre-allocated outputs (`fetches`) writes into them. The
// WebGPU device loop (src/runtime/device-loop.ts) depends on it: its U-Net and step graph write
// into GPU buffers it allocated. Both wrappers used to call run(feeds) alone, so ORT made its own
// output and copied it to the CPU: the one readback per step measured on SwiftShader (docs/speed.md).
import { describe, expect, it } from 'vitest';
import type { OrtModule } from '../runtime/ort';
import { STEP_IO, stepGraphBytes } from '../runtime/step-graph';
import { ortNode } from '../testing/pack';
import { withAbortCheck } from './pack-loader';
import { createContext } from './worker-context';
import { withYieldingRuns } from './yielding-ort';

const N = 8;
const [ALPHA_T, SIGMA_T, ALPHA_S, SIGMA_S] = [0.6, 0.8, 0.8, 0.6];

/** The step graph (guidance-free, one row) through the worker's wrappers for `backend`. */
async function wrappedStep(backend: 'wasm' | 'webgpu') {
  const node = await ortNode();
  const nodeAsWeb: OrtModule = { Tensor: node.Tensor, InferenceSession: { create: (model) => node.InferenceSession.create(model) } };
  const ort = withYieldingRuns(withAbortCheck(nodeAsWeb, createContext(() => undefined), backend));
  const session = await ort.InferenceSession.create(stepGraphBytes(1));
  const scalar = (x: number) => new node.Tensor('float32', Float32Array.of(x), []);
  const z = Float32Array.from({ length: N }, (_, i) => i / N - 0.5);
  const v = Float32Array.from({ length: N }, (_, i) => 0.25 - i / (2 * N));
  const feeds = {
    [STEP_IO.z]: new node.Tensor('float32', z, [1, 1, N, 1]),
    [STEP_IO.v]: new node.Tensor('float32', v, [1, 1, N, 1]),
    [STEP_IO.alphaT]: scalar(ALPHA_T),
    [STEP_IO.sigmaT]: scalar(SIGMA_T),
    [STEP_IO.alphaS]: scalar(ALPHA_S),
    [STEP_IO.sigmaS]: scalar(SIGMA_S),
  };
  // DDIM from t to s with v-prediction (docs/sampling.md E4, E7)
  const expected = z.map((zi, i) => {
    const xHat = ALPHA_T * zi - SIGMA_T * v[i]!;
    const epsHat = SIGMA_T * zi + ALPHA_T * v[i]!;
    return ALPHA_S * xHat + SIGMA_S * epsHat;
  });
  return { node, session, feeds, expected };
}

describe("the worker's session wrappers", () => {
  it('keep the rest of the module: env (the device loop looks for env.webgpu) and Tensor', async () => {
    const node = await ortNode();
    const ort = withYieldingRuns(withAbortCheck(node, createContext(() => undefined), 'webgpu'));
    expect((ort as unknown as { env: unknown }).env).toBe((node as unknown as { env: unknown }).env);
    expect(ort.Tensor).toBe(node.Tensor);
  });

  for (const backend of ['wasm', 'webgpu'] as const) {
    it(`pass pre-allocated outputs through to the run (${backend} path)`, async () => {
      const { node, session, feeds, expected } = await wrappedStep(backend);
      const out = new Float32Array(N).fill(Number.NaN);
      await session.run(feeds, { [STEP_IO.zNext]: new node.Tensor('float32', out, [1, 1, N, 1]) });
      for (let i = 0; i < N; i++) expect(out[i]).toBeCloseTo(expected[i]!, 6);
      // without fetches the run returns its own output, as before
      const own = await session.run(feeds);
      expect(Array.from(own[STEP_IO.zNext]!.data as Float32Array)).toEqual(Array.from(out));
      await session.release();
    });
  }
});
