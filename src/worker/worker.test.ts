// The worker's pack loader and job runner over the REAL shipped pack on onnxruntime-node, with
// a recording `post`: every failure reply carries the error's kind ('pack', 'device', 'input'),
// and a cancelled generation ends in 'cancelled', never in an error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateRequest } from '../runtime/api';
import { fsFetchFile } from '../runtime/fs-fetch';
import type { OrtModule } from '../runtime/ort';
import type { FetchFile } from '../runtime/pack';
import { ortNode, requirePack } from '../testing/pack';
import type { DeviceChoice } from './device';
import { runDenoiseOnce, runGenerate } from './job-runner';
import { runLoad, type LoadEnv } from './pack-loader';
import type { ErrorReply, ReplyOf, WorkerReply } from './protocol';
import { createContext, type WorkerContext } from './worker-context';
import { PromptReader } from './prompt-reader';
import { NEAR_AT, closeness, type PromptReading } from '../domain/prompt-reading';

const WASM: DeviceChoice = { backend: 'wasm', reason: 'test: WASM', threads: 1 };
const WEBGPU: DeviceChoice = { backend: 'webgpu', reason: 'test: WebGPU', threads: 1, shaderF16: false };

let node: OrtModule;
/** onnxruntime-node standing in for onnxruntime-web (execution providers ignored) */
let nodeAsWeb: OrtModule;
/** an ORT that cannot create any session, as a WebGPU adapter missing an operator */
const brokenOrt: OrtModule = {
  Tensor: class {} as unknown as OrtModule['Tensor'],
  InferenceSession: {
    create: () => Promise.reject(new Error('no kernel for operator Conv on this adapter')),
  },
};

function recorder(): { ctx: WorkerContext; replies: WorkerReply[] } {
  const replies: WorkerReply[] = [];
  return { ctx: createContext((r) => void replies.push(r)), replies };
}

function env(over: Partial<LoadEnv> & { device?: DeviceChoice } = {}): LoadEnv {
  const device = over.device ?? WASM;
  return {
    crossOriginIsolated: false,
    selectDevice: async () => device,
    loadOrt: async (d) => (d.backend === 'webgpu' ? brokenOrt : nodeAsWeb),
    fetchFile: () => fsFetchFile(requirePack()),
    openCache: async () => null,
    storageEstimate: async () => null,
    webgpuDevice: async () => null,
    ...over,
  };
}

/** A FetchFile whose manifest.json is not JSON. */
const badManifest: FetchFile = async (path) =>
  path === 'manifest.json' ? new TextEncoder().encode('{ not json') : fsFetchFile(requirePack())(path);

const errors = (replies: WorkerReply[]): ErrorReply[] => replies.filter((r): r is ErrorReply => r.status === 'error');
const devices = (replies: WorkerReply[]): Array<ReplyOf<'device'>> =>
  replies.filter((r): r is ReplyOf<'device'> => r.status === 'device');

/** The context with the pack loaded by runLoad (shared by the job tests). */
let loadedCtx: ReturnType<typeof recorder>;

beforeAll(async () => {
  node = await ortNode();
  nodeAsWeb = { Tensor: node.Tensor, InferenceSession: { create: (model) => node.InferenceSession.create(model) } };
  loadedCtx = recorder();
  await runLoad(loadedCtx.ctx, env(), { type: 'load', packUrl: '/models/p/', backend: 'wasm' });
});
afterAll(async () => {
  await loadedCtx?.ctx.loaded?.pipeline.dispose();
});

describe('pack loader', () => {
  it('loads, warms up and replies ready', () => {
    const { ctx, replies } = loadedCtx;
    expect(errors(replies)).toEqual([]);
    const ready = replies.find((r): r is ReplyOf<'ready'> => r.status === 'ready');
    expect(ready).toMatchObject({ packUrl: '/models/p/', backend: 'wasm' });
    expect(ready?.load?.warmUpMs).toBeGreaterThan(0);
    expect(ctx.loaded?.ready).toBe(ready);
    expect(replies.filter((r) => r.status === 'phase').map((r) => r.phase)).toEqual([
      'manifest', 'files', 'sessions', 'warm-up',
    ]);
  });

  it('a bad pack replies kind pack naming the file, not recoverable when nothing was loaded', async () => {
    const { ctx, replies } = recorder();
    await runLoad(ctx, env({ fetchFile: () => badManifest }), { type: 'load', packUrl: '/bad/', backend: 'auto' });
    expect(errors(replies)).toEqual([
      expect.objectContaining({ during: 'load', kind: 'pack', file: 'manifest.json', recoverable: false }),
    ]);
    expect(errors(replies)[0]!.message).toMatch(/^is not valid JSON/);
    expect(ctx.loaded).toBeNull();
  });

  it('a bad pack after a good one keeps the good one in use (recoverable, ready restored)', async () => {
    const { ctx, replies } = recorder();
    const previous = loadedCtx.ctx.loaded!;
    ctx.loaded = previous;
    await runLoad(ctx, env({ fetchFile: () => badManifest }), { type: 'load', packUrl: '/bad/', backend: 'auto' });
    const [error] = errors(replies);
    expect(error).toMatchObject({ kind: 'pack', file: 'manifest.json', recoverable: true });
    expect(error!.message).toContain(`The pack that was loaded before (${previous.ready.manifest.name}) is still in use.`);
    expect(replies.at(-1)).toEqual({ ...previous.ready, restored: true });
    expect(ctx.loaded).toBe(previous);
  });

  it('a device failure on WebGPU (auto) falls back to WASM and says why', async () => {
    const { ctx, replies } = recorder();
    const load = { type: 'load', packUrl: '/models/p/', backend: 'auto' } as const;
    // WASM fails too here, so the reply is the WASM attempt's error, of kind device
    await runLoad(ctx, env({ device: WEBGPU, loadOrt: async () => brokenOrt }), load);
    expect(devices(replies).map((d) => d.backend)).toEqual(['webgpu', 'wasm']);
    expect(devices(replies)[1]!.reason).toMatch(/^WebGPU: could not run the pack \(could not create an ONNX session on webgpu/);
    const [error] = errors(replies);
    expect(error).toMatchObject({ during: 'load', kind: 'device', recoverable: false });
    expect(error!.file).toMatch(/\.onnx$/);
    expect(error!.message).toMatch(/^could not create an ONNX session on wasm \(no kernel for operator Conv/);
  });

  it('a device failure on WebGPU asked for by name is reported, without a fallback', async () => {
    const { ctx, replies } = recorder();
    await runLoad(ctx, env({ device: WEBGPU }), { type: 'load', packUrl: '/models/p/', backend: 'webgpu' });
    expect(devices(replies).map((d) => d.backend)).toEqual(['webgpu']);
    expect(errors(replies)).toEqual([expect.objectContaining({ kind: 'device', recoverable: false })]);
  });

  it('a pack problem on WebGPU (auto) is reported without a fallback: it would fail on any device', async () => {
    const { ctx, replies } = recorder();
    await runLoad(ctx, env({ device: WEBGPU, fetchFile: () => badManifest }), { type: 'load', packUrl: '/bad/', backend: 'auto' });
    expect(devices(replies).map((d) => d.backend)).toEqual(['webgpu']);
    expect(errors(replies)).toEqual([expect.objectContaining({ kind: 'pack' })]);
  });
});

describe('job runner', () => {
  const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
    prompt: 'rain on a tin roof',
    denoiserId: loadedCtx.ctx.loaded!.pipeline.manifest.denoisers[0]!.id,
    steps: 10,
    guidanceScale: 3,
    seed: 7,
    ...over,
  });

  /** A context sharing the loaded pack, recording its own replies. */
  function withPack(): ReturnType<typeof recorder> {
    const r = recorder();
    r.ctx.loaded = loadedCtx.ctx.loaded;
    return r;
  }

  it('a cancelled job reports cancelled with the steps, and no error', async () => {
    const { ctx, replies } = withPack();
    const controller = new AbortController();
    ctx.controllers.set(1, controller);
    const post = ctx.post;
    ctx.post = (r, t) => {
      post(r, t);
      // what the router does on 'cancel' after step 2
      if (r.status === 'progress' && r.step === 2) {
        ctx.cancelStep.set(1, 2);
        controller.abort();
      }
    };
    await runGenerate(ctx, { type: 'generate', id: 1, request: request() }, controller);
    expect(errors(replies)).toEqual([]);
    expect(replies.some((r) => r.status === 'done')).toBe(false);
    const last = replies.at(-1) as ReplyOf<'cancelled'>;
    expect(last).toMatchObject({ status: 'cancelled', id: 1, cancelAtStep: 2 });
    expect(last.stoppedAtStep! - 2).toBeGreaterThanOrEqual(0);
    expect(last.stoppedAtStep! - 2).toBeLessThanOrEqual(1);
    expect(ctx.controllers.has(1)).toBe(false);
    expect(ctx.activeSignal).toBeNull();
  });

  it('a job cancelled while queued reports cancelled before any progress', async () => {
    const { ctx, replies } = withPack();
    const controller = new AbortController();
    controller.abort();
    await runGenerate(ctx, { type: 'generate', id: 2, request: request() }, controller);
    expect(replies).toEqual([{ status: 'cancelled', id: 2 }]);
  });

  it('a bad request reports kind input, recoverable, and the pack stays usable', async () => {
    const { ctx, replies } = withPack();
    await runGenerate(ctx, { type: 'generate', id: 3, request: request({ steps: 3 }) }, new AbortController());
    expect(replies).toEqual([
      expect.objectContaining({ status: 'error', id: 3, during: 'generate', kind: 'input', recoverable: true, file: undefined }),
    ]);
    expect((replies[0] as ErrorReply).message).toMatch(/steps 3 does not divide 1000/);
    await runGenerate(ctx, { type: 'generate', id: 4, request: request({ steps: 1 }) }, new AbortController());
    expect(replies.at(-1)).toMatchObject({ status: 'done', id: 4 });
  });

  it('a done result names the pack that made it; a request made for another pack is refused, nothing run', async () => {
    const { ctx, replies } = withPack();
    const name = ctx.loaded!.ready.manifest.name;
    await runGenerate(ctx, { type: 'generate', id: 8, request: request({ steps: 1 }), packUrl: '/models/p/' }, new AbortController());
    expect(replies.at(-1)).toMatchObject({ status: 'done', id: 8, pack: { url: '/models/p/', id: 'soundstep-small', name } });
    replies.length = 0;
    await runGenerate(ctx, { type: 'generate', id: 9, request: request({ steps: 1 }), packUrl: '/models/earlier/' }, new AbortController());
    expect(replies).toEqual([expect.objectContaining({ status: 'error', id: 9, during: 'generate', kind: 'input', recoverable: true })]);
    expect((replies[0] as ErrorReply).message).toBe(
      `This sound was asked of the pack at /models/earlier/, but ${name} (/models/p/) has been loaded since; nothing was made. Press Generate to make it with the pack now in use.`,
    );
  });

  it('denoise-once with inputs of the wrong size reports kind input', async () => {
    const { ctx, replies } = withPack();
    const m = ctx.loaded!.pipeline.manifest;
    const L = m.text.max_tokens;
    await runDenoiseOnce(ctx, {
      type: 'denoise-once', id: 5, denoiserId: request().denoiserId, sample: new Float32Array(3), timestep: 999,
      inputIds: new BigInt64Array(L), attentionMask: new BigInt64Array(L).fill(1n), batch: 1,
    });
    expect(replies).toEqual([expect.objectContaining({ status: 'error', id: 5, during: 'denoise-once', kind: 'input', recoverable: true })]);
    expect((replies[0] as ErrorReply).message).toMatch(/^sample has 3 values/);
  });

  it('without a pack: kind pack, not recoverable', async () => {
    const { ctx, replies } = recorder();
    await runGenerate(ctx, { type: 'generate', id: 6, request: request() }, new AbortController());
    await runDenoiseOnce(ctx, {
      type: 'denoise-once', id: 7, denoiserId: 'x', sample: new Float32Array(1), timestep: 0,
      inputIds: new BigInt64Array(1), attentionMask: new BigInt64Array(1), batch: 1,
    });
    expect(replies).toEqual([
      expect.objectContaining({ id: 6, during: 'generate', kind: 'pack', message: 'No model pack is loaded.', recoverable: false }),
      expect.objectContaining({ id: 7, during: 'denoise-once', kind: 'pack', message: 'No model pack is loaded.', recoverable: false }),
    ]);
  });
});

describe('prompt reader on the shipped pack', () => {
  // the pack's own text encoder (int8 all-MiniLM-L6-v2) against its 68 sounds' example prompts
  it('reads a trained sound as near, a French sentence as far, and emoji as unknown to the tokenizer', async () => {
    const pipeline = loadedCtx.ctx.loaded!.pipeline;
    const replies: WorkerReply[] = [];
    const reader = new PromptReader({ pack: () => pipeline, busy: () => false, post: (r) => void replies.push(r) });
    const read = async (id: number, prompt: string): Promise<PromptReading> => {
      reader.request({ type: 'read-prompt', id, prompt });
      await expect.poll(() => replies.length, { timeout: 60_000 }).toBe(id);
      const reply = replies[id - 1];
      if (reply?.status !== 'prompt-reading') throw new Error(`no reading: ${JSON.stringify(reply)}`);
      return reply.reading;
    };
    const piano = await read(1, 'a piano plays a melody');
    expect(piano.nearest).toEqual({ key: 'piano', name: 'piano', example: 'a piano plays a melody' });
    expect(piano.similarity).toBeCloseTo(1, 5); // one of the examples itself
    expect(closeness(piano.similarity)).toBe('near');
    const french = await read(2, 'un homme qui parle');
    expect(french.similarity).toBeLessThan(NEAR_AT - 0.2); // 0.18 on the shipped pack
    expect(closeness(french.similarity)).toBe('far');
    expect(french.unknownWords).toEqual([]); // French is spelled with wordpieces the tokenizer has
    const emoji = await read(3, '🐶🔊');
    expect(emoji.unknownWords).toEqual(['🐶🔊']);
    expect(closeness(emoji.similarity)).toBe('far');
    expect(pipeline.promptTokenizer.unknownWords('a dog 🐶 barks, привет')).toEqual(['🐶']); // Cyrillic has wordpieces; emoji none
  });
});
