// DeviceLoop (./device-loop.ts) in Node, against the engine's sample() it replaces on WebGPU: the
// loop's control flow (ping-pong z, the guided z_rows, the scalars per step, one readback) on a
// stand-in device whose "GPU buffers" are Float32Arrays, the step graph running on
// onnxruntime-node, and a toy network. The real device is tested by e2e/device-loop.webgpu.spec.ts.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gaussianNoise } from '../engine/rng';
import { sample, type Denoise } from '../engine/sample';
import { alphasCumprod, trailingGrid } from '../engine/schedule';
import { maxAbsDiff } from '../testing/pack';
import { DeviceLoop, type GpuBufferLike, type GpuDeviceLike } from './device-loop';
import type { Graph } from './graph-io';
import type { OrtModule, OrtSession, OrtTensor } from './ort';

/** A buffer of the stand-in device: its bytes are a Float32Array. */
interface FakeBuffer extends GpuBufferLike {
  data: Float32Array;
}

function fakeDevice(counter: { maps: number }): GpuDeviceLike {
  return {
    createBuffer: ({ size }): FakeBuffer => ({
      size,
      data: new Float32Array(size / 4),
      mapAsync: () => {
        counter.maps++;
        return Promise.resolve();
      },
      getMappedRange(this: FakeBuffer) {
        return this.data.slice().buffer;
      },
      unmap: () => undefined,
      destroy: () => undefined,
    }),
    createCommandEncoder: () => {
      const copies: Array<() => void> = [];
      return {
        copyBufferToBuffer: (src, so, dst, o, size) =>
          copies.push(() => (dst as FakeBuffer).data.set((src as FakeBuffer).data.subarray(so / 4, (so + size) / 4), o / 4)),
        finish: () => copies,
      };
    },
    queue: {
      writeBuffer: (b, offset, data) => (b as FakeBuffer).data.set(data, offset / 4),
      submit: (commands) => (commands as Array<Array<() => void>>).forEach((c) => c.forEach((f) => f())),
    },
  };
}

/** Fetches filled in place from a run's outputs (what a pre-allocated GPU output is). */
const intoFetches = (out: Record<string, OrtTensor>, fetches: Record<string, OrtTensor>): Record<string, OrtTensor> => {
  for (const [name, t] of Object.entries(fetches)) (t.data as Float32Array).set(out[name]!.data as Float32Array);
  return fetches;
};

/** onnxruntime-node dressed as the WebGPU build: fromGpuBuffer views a FakeBuffer, runs fill the fetches. */
function fakeGpuOrt(device: GpuDeviceLike): OrtModule {
  return {
    // a subclass: ort.Tensor itself (shared with the other tests) is left as it is
    Tensor: Object.assign(class extends (ort.Tensor as unknown as new (...a: unknown[]) => ort.Tensor) {}, {
      fromGpuBuffer: (b: GpuBufferLike, o: { dims: readonly number[] }) => {
        const n = o.dims.reduce((a, d) => a * d, 1);
        return new ort.Tensor('float32', (b as FakeBuffer).data.subarray(0, n), o.dims);
      },
    }) as unknown as OrtModule['Tensor'],
    InferenceSession: {
      create: async (model: Uint8Array | string): Promise<OrtSession> => {
        const s = await ort.InferenceSession.create(model as Uint8Array);
        const run = async (feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor>) =>
          intoFetches(await s.run(feeds as Record<string, ort.Tensor>), fetches ?? {});
        return { inputNames: s.inputNames, outputNames: s.outputNames, run, release: () => s.release() };
      },
    },
    env: { webgpu: { device } },
  } as unknown as OrtModule;
}

/** A toy network (rows differ, t matters) as a pure function and as a denoiser Graph writing into its fetch. */
const toyV = (z: Float32Array, t: number, rows: number): Float32Array => {
  const size = z.length / rows;
  return z.map((zi, i) => Math.tanh(zi) * (1 + t / 1000) + (i < size ? 0.3 : -0.2));
};
const toy: Denoise = (z, t, rows) => toyV(z, t, rows);
const toyGraph: Graph = {
  file: 'toy.onnx',
  kind: 'denoiser',
  session: {
    inputNames: [],
    outputNames: ['v_prediction'],
    run: ((feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor>) => {
      const z = feeds['sample']!.data as Float32Array;
      const t = Number((feeds['timestep']!.data as BigInt64Array)[0]);
      (fetches['v_prediction']!.data as Float32Array).set(toyV(z, t, feeds['sample']!.dims[0]!));
      return Promise.resolve(fetches);
    }),
    release: () => Promise.resolve(),
  },
};

describe('DeviceLoop = the engine sample() (E7, E8, E20), one readback', () => {
  const abar = alphasCumprod();
  const dims = [4, 64, 16] as const;
  const start = gaussianNoise(5, dims[0] * dims[1] * dims[2]);
  for (const guidance of [undefined, 3]) {
    it(guidance === undefined ? 'a student (rows 1), 25 steps' : 'guided (rows 2, w 3), 25 steps', async () => {
      const rows = guidance === undefined ? 1 : 2;
      const counter = { maps: 0 };
      const loop = DeviceLoop.for(fakeGpuOrt(fakeDevice(counter)), 'webgpu')!;
      const scope = globalThis as { __soundstepDeviceLoop?: boolean };
      expect(loop.runs()).toBe(false); // opt-in until a real GPU times it (device-loop.ts runs())
      scope.__soundstepDeviceLoop = true;
      expect(loop.runs()).toBe(true);
      expect(loop.runs(() => start)).toBe(false); // inpainting keeps the engine's loop
      delete scope.__soundstepDeviceLoop;
      const grid = trailingGrid(25);
      const steps: number[] = [];
      const L = 8;
      const z = await loop.sample({
        denoiser: toyGraph,
        hidden: new Float32Array(rows * L * 2),
        mask: new BigInt64Array(rows * L).fill(1n),
        start,
        dims,
        grid,
        abar,
        guidance,
        onStep: (k) => steps.push(k),
      });
      const want = await sample(toy, start, grid, abar, guidance);
      expect(counter.maps).toBe(1);
      expect(steps).toEqual(grid.map((_, k) => k));
      expect(maxAbsDiff(z, want)).toBeLessThan(1e-5);
      await loop.dispose();
    });
  }

  it('is null off WebGPU (WASM, Node) and where the module cannot bind GPU buffers', () => {
    const gpuOrt = fakeGpuOrt(fakeDevice({ maps: 0 }));
    expect(DeviceLoop.for(gpuOrt, 'wasm')).toBeNull();
    expect(DeviceLoop.for(gpuOrt, 'cpu')).toBeNull();
    expect(DeviceLoop.for({ ...gpuOrt, env: undefined } as unknown as OrtModule, 'webgpu')).toBeNull();
  });
});
