// The worker with denoisers on demand, over the REAL shipped pack on onnxruntime-node: the ready
// reply says which denoisers are not downloaded and their bytes; a generation with one of them
// posts its download's 'file' replies (with the generation's id) and 'denoiser-ready' before its
// progress; cancelling during the download ends in 'cancelled' and a later generation downloads
// it again; a failed download is an error naming the file that loses nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateRequest } from '../runtime/api';
import { PackError } from '../runtime/errors';
import { fsFetchFile } from '../runtime/fs-fetch';
import type { OrtModule } from '../runtime/ort';
import type { FetchFile } from '../runtime/pack';
import { ortNode, requirePack } from '../testing/pack';
import { runGenerate } from './job-runner';
import { runLoad, type LoadEnv } from './pack-loader';
import type { ReplyOf, WorkerReply } from './protocol';
import { createContext, type WorkerContext } from './worker-context';

const TEACHER = 'denoisers/teacher.onnx';
const BSA_25 = 'denoisers/bsa-25.onnx';

let nodeAsWeb: OrtModule;
let ctx: WorkerContext;
let replies: WorkerReply[];
/** fetches per file, over the whole file */
const calls = new Map<string, number>();
/** what the next fetch of a file does instead of reading it: 'stall' until aborted, 'fail' at once */
const next = new Map<string, 'stall' | 'fail'>();

const shipped = (): FetchFile => fsFetchFile(requirePack());
const fetchFile: FetchFile = (path, onProgress, signal) => {
  calls.set(path, (calls.get(path) ?? 0) + 1);
  const what = next.get(path);
  next.delete(path);
  if (what === 'fail') return Promise.reject(new PackError(path, 'could not be fetched from http://127.0.0.1/x: you may be offline', { network: true }));
  if (what === 'stall') {
    // half a megabyte arrives after 150 ms (past the replies' 100 ms throttle), then nothing until aborted
    return new Promise((_, reject) => {
      signal?.addEventListener('abort', () => reject(new Error('aborted')));
      setTimeout(() => onProgress?.(500_000, 0), 150);
    });
  }
  return shipped()(path, onProgress, signal);
};

function env(): LoadEnv {
  return {
    crossOriginIsolated: false,
    selectDevice: async () => ({ backend: 'wasm', reason: 'test: WASM', threads: 1 }),
    loadOrt: async () => nodeAsWeb,
    fetchFile: () => fetchFile,
    openCache: async () => null,
    storageEstimate: async () => null,
    webgpuDevice: async () => null,
  };
}

const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: 'rain on a tin roof', denoiserId: 'teacher', steps: 2, guidanceScale: 3, seed: 7, ...over,
});

/** The replies of one generation, run to its end. */
async function generate(id: number, req: GenerateRequest, controller = new AbortController()): Promise<WorkerReply[]> {
  const from = replies.length;
  ctx.controllers.set(id, controller);
  await runGenerate(ctx, { type: 'generate', id, request: req }, controller);
  return replies.slice(from);
}

const statuses = (rs: WorkerReply[]): string[] => rs.map((r) => r.status).filter((s, i, all) => s !== all[i - 1]);

beforeAll(async () => {
  const node = await ortNode();
  nodeAsWeb = { Tensor: node.Tensor, InferenceSession: { create: (model) => node.InferenceSession.create(model) } };
  replies = [];
  ctx = createContext((r) => void replies.push(r));
  await runLoad(ctx, env(), { type: 'load', packUrl: '/models/p/', backend: 'wasm' });
});
afterAll(async () => {
  await ctx?.loaded?.pipeline.dispose();
});

describe('denoisers on demand in the worker', () => {
  it('the load fetches one denoiser, and ready lists the others with their bytes', () => {
    const denoisers = [...calls.keys()].filter((f) => f.startsWith('denoisers/'));
    expect(denoisers).toEqual(['denoisers/snr+1-25.onnx']);
    const ready = replies.find((r): r is ReplyOf<'ready'> => r.status === 'ready');
    const onDemand = ready?.load?.onDemand ?? [];
    expect(onDemand.map((g) => g.denoiserId)).toEqual(['teacher', 'bsa-100', 'bsa-50', 'bsa-25', 'snr-trunc-25', 'min-snr-25', 'eps-25']);
    expect(onDemand[0]).toEqual({ kind: 'denoiser', denoiserId: 'teacher', file: TEACHER, bytes: 2_583_667 });
    // the load's file replies carry no generation id
    expect(replies.filter((r) => r.status === 'file').every((r) => r.status === 'file' && r.id === undefined)).toBe(true);
  });

  it('a cancel during the download ends in cancelled; the next generation downloads it again', async () => {
    next.set(TEACHER, 'stall');
    const controller = new AbortController();
    const post = ctx.post;
    ctx.post = (r, t) => {
      post(r, t);
      if (r.status === 'file' && r.id === 1 && r.loaded > 0) controller.abort(); // what the router does on 'cancel'
    };
    const cancelled = await generate(1, request(), controller);
    ctx.post = post;
    expect(statuses(cancelled)).toEqual(['file', 'cancelled']);
    expect(cancelled[0]).toMatchObject({ status: 'file', id: 1, file: TEACHER, loaded: 0, total: 2_583_667, done: false });
    expect(ctx.loaded?.pipeline.hasDenoiser('teacher')).toBe(false);

    const done = await generate(2, request());
    expect(statuses(done)).toEqual(['file', 'denoiser-ready', 'progress', 'done']);
    expect(done.find((r) => r.status === 'file' && r.done)).toMatchObject({ id: 2, file: TEACHER, loaded: 2_583_667, source: 'network' });
    expect(done.find((r) => r.status === 'denoiser-ready')).toEqual({ status: 'denoiser-ready', id: 2, denoiserId: 'teacher' });
    expect(calls.get(TEACHER)).toBe(2);
    // loaded now: no more downloads, and a restored ready reply would no longer list it
    const again = await generate(3, request({ seed: 8 }));
    expect(statuses(again)).toEqual(['progress', 'done']);
    expect(calls.get(TEACHER)).toBe(2);
    expect(ctx.loaded?.ready.load?.onDemand?.map((g) => g.denoiserId)).not.toContain('teacher');
  });

  it('a failed download names the file, says what to do, offers a retry, and the pack stays usable', async () => {
    next.set(BSA_25, 'fail');
    const failed = await generate(4, request({ denoiserId: 'bsa-25', steps: 25, guidanceScale: 1 }));
    const error = failed.at(-1) as ReplyOf<'error'>;
    expect(error).toMatchObject({ status: 'error', id: 4, during: 'generate', kind: 'pack', file: BSA_25, recoverable: true, download: true });
    expect(error.message).toMatch(/^could not be fetched .*It is downloaded on first use; nothing else was lost.*generate again to retry/);
    const other = await generate(5, request({ denoiserId: 'snr+1-25', steps: 25, guidanceScale: 1 }));
    expect(other.at(-1)).toMatchObject({ status: 'done', id: 5 });
    const retried = await generate(6, request({ denoiserId: 'bsa-25', steps: 25, guidanceScale: 1 }));
    expect(retried.at(-1)).toMatchObject({ status: 'done', id: 6 });
  });
});
