// A pack load stopped before it downloads (the capacity check: a pack that WASM cannot hold) and
// by the user (cancel-load), through runLoad over the REAL shipped pack on onnxruntime-node. The
// cache is an in-memory CacheLike (Node has no Cache Storage; e2e/load-limits.spec.ts runs Chromium's).
import { beforeAll, describe, expect, it } from 'vitest';
import { WASM_WORKING_MARGIN } from '../runtime/capacity';
import { fsFetchFile } from '../runtime/fs-fetch';
import { validateManifest, type Manifest } from '../runtime/manifest';
import type { OrtModule } from '../runtime/ort';
import type { FetchFile } from '../runtime/pack';
import type { CacheLike } from '../runtime/pack-cache';
import { ortNode, readPackJson, requirePack } from '../testing/pack';
import type { DeviceChoice } from './device';
import { runLoad, type LoadEnv } from './pack-loader';
import type { ErrorReply, WorkerReply } from './protocol';
import { createContext } from './worker-context';

const WASM: DeviceChoice = { backend: 'wasm', reason: 'test: WASM', threads: 1 };
const PACK_URL = 'http://localhost/models/p/';
const DENOISER = 'denoisers/snr+1-25.onnx';

let nodeAsWeb: OrtModule;
beforeAll(async () => {
  const node = await ortNode();
  nodeAsWeb = { Tensor: node.Tensor, InferenceSession: { create: (model) => node.InferenceSession.create(model) } };
});

/** A Map standing in for Cache Storage (keys are the full request URLs). */
function memoryCache(): CacheLike & { entries: Map<string, Response> } {
  const entries = new Map<string, Response>();
  return {
    entries,
    match: async (k) => entries.get(k)?.clone(),
    put: async (k, r) => void entries.set(k, r),
    delete: async (k) => entries.delete(k),
    keys: async () => [...entries.keys()].map((url) => ({ url })),
  };
}

/** The shipped pack read from disk, recording each path fetched; `manifest` rewrites manifest.json. */
function recordingFetch(fetched: string[], manifest?: (m: Manifest) => void, onFetch?: (path: string) => void): FetchFile {
  const disk = fsFetchFile(requirePack());
  return async (path, onProgress, signal) => {
    fetched.push(path);
    onFetch?.(path);
    if (path !== 'manifest.json' || !manifest) return disk(path, onProgress, signal);
    const m = structuredClone(validateManifest(readPackJson('manifest.json')));
    manifest(m);
    return new TextEncoder().encode(JSON.stringify(m));
  };
}

function env(fetchFile: FetchFile, cache: CacheLike | null = null, storage: { quota: number; usage: number } | null = null): LoadEnv {
  return {
    crossOriginIsolated: false,
    selectDevice: async () => WASM,
    loadOrt: async () => nodeAsWeb,
    fetchFile: () => fetchFile,
    openCache: async () => cache,
    storageEstimate: async () => storage,
    webgpuDevice: async () => null,
  };
}

const errors = (replies: WorkerReply[]): ErrorReply[] => replies.filter((r): r is ErrorReply => r.status === 'error');

describe('a load that cannot fit', () => {
  it('stops after manifest.json, before any other file, and says what needs how much', async () => {
    const replies: WorkerReply[] = [];
    const fetched: string[] = [];
    // the default denoiser claims 5 GB: over WASM's 4 GiB with the margin, whatever else
    const fetchFile = recordingFetch(fetched, (m) => (m.files[DENOISER] = { bytes: 5_000_000_000, sha256: m.files[DENOISER]?.sha256 ?? '' }));
    await runLoad(createContext((r) => void replies.push(r)), env(fetchFile), { type: 'load', packUrl: PACK_URL, backend: 'wasm' });
    expect(fetched).toEqual(['manifest.json']);
    const [error] = errors(replies);
    expect(error).toMatchObject({ during: 'load', kind: 'device', recoverable: false });
    const m = readPackJson('manifest.json') as { files: Record<string, { bytes: number }> };
    const others = ['text_encoder.onnx', 'vae_decoder.onnx', 'vocoder.onnx'].reduce((n, f) => n + (m.files[f]?.bytes ?? 0), 0);
    const gb = (n: number): string => (n / 1e9).toFixed(2);
    expect(error?.message).toBe(
      `This pack needs ${gb(5e9 + others + WASM_WORKING_MARGIN)} GB of memory at once (${gb(5e9 + others)} GB of weights for the graphs it loads together, ` +
        'plus a 1.07 GB working margin), and WASM holds 4.3 GB (4 GiB). Nothing was downloaded. Use a browser and device with WebGPU, or a smaller pack.',
    );
    expect(replies.some((r) => r.status === 'ready')).toBe(false);
  });
});

describe('a download larger than the storage left', () => {
  it('loads and works, stores nothing but manifest.json (not the quota filled halfway), and the ready reply says why', async () => {
    const replies: WorkerReply[] = [];
    const cache = memoryCache();
    const ctx = createContext((r) => void replies.push(r));
    // 5 MB left: less than the 22 MB the shipped pack's load downloads
    await runLoad(ctx, env(recordingFetch([]), cache, { quota: 6_000_000, usage: 1_000_000 }), { type: 'load', packUrl: PACK_URL, backend: 'wasm' });
    expect(errors(replies)).toEqual([]);
    const ready = replies.find((r) => r.status === 'ready');
    const offline = ready?.status === 'ready' ? ready.load?.offline : undefined;
    expect(offline?.available).toBe(false);
    expect(offline?.reason).toMatch(
      /^Not available offline: this pack downloads 2\d\.\d MB, more than the 5\.0 MB free of the 6\.0 MB this browser gives this site, so it is not stored\./,
    );
    expect([...cache.entries.keys()].map((k) => new URL(k).pathname)).toEqual(['/models/p/manifest.json']);
    await ctx.loaded?.pipeline.dispose();
  });
});

describe('cancel-load', () => {
  it('ends the load as cancelled; files finished before stay cached, the cancelled one is not stored', async () => {
    const replies: WorkerReply[] = [];
    const fetched: string[] = [];
    const cache = memoryCache();
    const controller = new AbortController();
    // the user presses Cancel as the denoiser's download starts
    const fetchFile = recordingFetch(fetched, undefined, (p) => p === DENOISER && controller.abort());
    await runLoad(createContext((r) => void replies.push(r)), env(fetchFile, cache), { type: 'load', packUrl: PACK_URL, backend: 'wasm' }, controller.signal);
    const [error] = errors(replies);
    expect(error).toMatchObject({ during: 'load', kind: 'cancelled', recoverable: false });
    expect(error?.message).toBe(
      `Loading ${PACK_URL} was cancelled. Files that had finished downloading stay in the browser cache, so loading it again continues from there.`,
    );
    const cachedPaths = [...cache.entries.keys()].map((k) => new URL(k).pathname.replace('/models/p/', ''));
    const before = fetched.slice(1, fetched.indexOf(DENOISER));
    expect(before.length).toBeGreaterThan(0);
    expect(cachedPaths.sort()).toEqual(['manifest.json', ...before].sort());
    expect(fetched.at(-1)).toBe(DENOISER);

    // loading again reads those from the cache and fetches only the rest
    const again: WorkerReply[] = [];
    const fetched2: string[] = [];
    const ctx = createContext((r) => void again.push(r));
    await runLoad(ctx, env(recordingFetch(fetched2), cache), { type: 'load', packUrl: PACK_URL, backend: 'wasm' });
    expect(errors(again)).toEqual([]);
    expect(fetched2.filter((f) => before.includes(f))).toEqual([]);
    expect(fetched2).toContain(DENOISER);
    await ctx.loaded?.pipeline.dispose();
  });
});
