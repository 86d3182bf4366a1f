// A lost WebGPU device, on the REAL shipped pack run by onnxruntime-node: Node has no WebGPU, so
// the pack is loaded as if on WebGPU (onnxruntime-node ignores the execution provider) and the
// GPUDevice is a stand-in whose `lost` the test resolves, or the runtime starts failing runs.
// The generation in flight ends in an error reply with deviceLost and the one sentence the user
// reads; the rebuild loads the same pack on WASM and says why; generation works again.
import { beforeAll, describe, expect, it } from 'vitest';
import { fsFetchFile } from '../runtime/fs-fetch';
import type { OrtModule, OrtSession } from '../runtime/ort';
import { ortNode, requirePack } from '../testing/pack';
import type { DeviceChoice } from './device';
import { rebuildOnWasm, type GpuDeviceLike } from './device-lost';
import { runGenerate } from './job-runner';
import { runLoad, type LoadEnv } from './pack-loader';
import type { ErrorReply, ReplyOf, WorkerReply } from './protocol';
import { createContext, type WorkerContext } from './worker-context';

const WASM: DeviceChoice = { backend: 'wasm', reason: 'test: WASM', threads: 1 };
const WEBGPU: DeviceChoice = { backend: 'webgpu', reason: 'test: WebGPU', threads: 1, shaderF16: false };

let nodeAsWeb: OrtModule;
beforeAll(async () => {
  const node = await ortNode();
  nodeAsWeb = { Tensor: node.Tensor, InferenceSession: { create: (model) => node.InferenceSession.create(model) } };
});

/** A GPUDevice stand-in: `lose` resolves its `lost` as Chromium does for destroy(). */
function fakeDevice(): GpuDeviceLike & { lose: () => void } {
  let resolve!: (info: { reason: string; message: string }) => void;
  const lost = new Promise<{ reason: string; message: string }>((r) => (resolve = r));
  return { lost, destroy: () => undefined, lose: () => resolve({ reason: 'destroyed', message: 'Device was destroyed.' }) };
}

function env(device: DeviceChoice, over: Partial<LoadEnv> = {}): LoadEnv {
  return {
    crossOriginIsolated: false,
    selectDevice: async () => device,
    loadOrt: async () => nodeAsWeb,
    fetchFile: () => fsFetchFile(requirePack()),
    openCache: async () => null,
    storageEstimate: async () => null,
    webgpuDevice: async () => null,
    ...over,
  };
}

/** A context with the pack loaded "on WebGPU"; `lost` records the rebuilds the router would queue. */
async function onWebGpu(over: Partial<LoadEnv>): Promise<{ ctx: WorkerContext; replies: WorkerReply[]; lost: string[] }> {
  const replies: WorkerReply[] = [];
  const lost: string[] = [];
  const ctx = createContext((r) => void replies.push(r));
  ctx.onDeviceLost = (reason) => void lost.push(reason);
  await runLoad(ctx, env(WEBGPU, over), { type: 'load', packUrl: '/models/p/', backend: 'webgpu' });
  expect(ctx.loaded?.backend).toBe('webgpu');
  replies.length = 0;
  return { ctx, replies, lost };
}

const student = (ctx: WorkerContext) => ctx.loaded!.pipeline.manifest.denoisers.find((d) => d.role === 'student')!;
const errors = (replies: WorkerReply[]): ErrorReply[] => replies.filter((r): r is ErrorReply => r.status === 'error');

describe('a lost WebGPU device', { timeout: 900_000 }, () => {
  it('GPUDevice.lost mid-generation: a retryable error in one sentence, then the pack is rebuilt on WASM and generates', async () => {
    const device = fakeDevice();
    const { ctx, replies, lost } = await onWebGpu({ webgpuDevice: async () => device });
    const d = student(ctx);
    const post = ctx.post;
    ctx.post = (r, t) => {
      post(r, t);
      if (r.status === 'progress' && r.step === 3) device.lose();
    };
    await runGenerate(ctx, { type: 'generate', id: 1, request: { prompt: 'a dog barks', denoiserId: d.id, steps: d.steps[0], guidanceScale: 1, seed: 3 } }, new AbortController());
    ctx.post = post;
    expect(replies.some((r) => r.status === 'done')).toBe(false);
    expect(errors(replies)).toEqual([
      {
        status: 'error', id: 1, during: 'generate', kind: 'device', recoverable: true, deviceLost: true, file: undefined,
        message: 'The graphics device stopped working (WebGPU: Device was destroyed), so soundstep now runs on WASM; press Retry to make the interrupted sound again.',
      },
    ]);
    expect(lost).toEqual(['Device was destroyed']); // the rebuild is queued once

    replies.length = 0;
    await rebuildOnWasm(ctx, (req) => runLoad(ctx, env(WASM), req), lost[0]!);
    const device2 = replies.find((r): r is ReplyOf<'device'> => r.status === 'device');
    expect(device2).toMatchObject({ backend: 'wasm', reason: 'WebGPU: the device was lost (Device was destroyed), using WASM (1 threads)' });
    expect(replies.at(-1)).toMatchObject({ status: 'ready', backend: 'wasm', packUrl: '/models/p/' });
    expect(ctx.deviceLost).toBeNull();

    replies.length = 0;
    await runGenerate(ctx, { type: 'generate', id: 2, request: { prompt: 'a dog barks', denoiserId: d.id, steps: d.steps[0], guidanceScale: 1, seed: 3 }, packUrl: '/models/p/' }, new AbortController());
    expect(replies.at(-1)).toMatchObject({ status: 'done', id: 2, numSamples: ctx.loaded!.pipeline.manifest.audio.num_samples });
  });

  it('an ONNX Runtime error on WebGPU counts as a lost device too', async () => {
    let failing = false;
    const flaky: OrtModule = {
      Tensor: nodeAsWeb.Tensor,
      InferenceSession: {
        create: async (model, options) => {
          const session = await nodeAsWeb.InferenceSession.create(model, options);
          return new Proxy(session, {
            get: (target, prop) => {
              if (prop === 'run') return (feeds: Parameters<OrtSession['run']>[0]) => (failing ? Promise.reject(new Error('GPU buffer mapping failed')) : target.run(feeds));
              const value: unknown = Reflect.get(target, prop, target);
              return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
            },
          });
        },
      },
    };
    const { ctx, replies, lost } = await onWebGpu({ loadOrt: async () => flaky });
    failing = true;
    const d = student(ctx);
    await runGenerate(ctx, { type: 'generate', id: 3, request: { prompt: 'rain', denoiserId: d.id, steps: d.steps[0], guidanceScale: 1, seed: 1 } }, new AbortController());
    const [error] = errors(replies);
    expect(error).toMatchObject({ id: 3, kind: 'device', deviceLost: true, recoverable: true });
    expect(error!.message).toMatch(/^The graphics device stopped working \(WebGPU: running the text graph failed \(inputs .*\): GPU buffer mapping failed\), so soundstep now runs on WASM; press Retry to make the interrupted sound again\.$/);
    expect(lost).toHaveLength(1);
  });
});
