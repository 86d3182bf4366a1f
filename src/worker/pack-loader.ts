// The worker's pack loader: choose a device, load and warm up the pack, fall back from WebGPU
// to WASM when the device (not the pack) fails, and keep the earlier pack when a load fails.

import { summarizeManifest } from '../domain/pack-summary';
import { errorKind, errorProblem, CancelledError } from '../runtime/errors';
import { countVariants, packGraphs, selectPrecision, type PrecisionChoice } from '../runtime/graphs';
import type { OrtModule, OrtSession } from '../runtime/ort';
import type { FetchFile, PackFileCache } from '../runtime/pack';
import { packFileCache, prunePack, type CacheLike } from '../runtime/pack-cache';
import { Pipeline } from '../runtime/pipeline';
import type { DeviceChoice } from './device';
import type { BackendPreference, LoadRequest, ReadyReply } from './protocol';
import { errorReply, type WorkerContext } from './worker-context';
import { withYieldingRuns } from './yielding-ort';

/** Milliseconds between two 'file' progress replies for the same file. */
const FILE_PROGRESS_INTERVAL_MS = 100;

/** What loading needs from the browser (a test passes Node stand-ins). */
export interface LoadEnv {
  crossOriginIsolated: boolean;
  selectDevice(preference: BackendPreference): Promise<DeviceChoice>;
  loadOrt(device: DeviceChoice): Promise<OrtModule>;
  fetchFile(packUrl: string): FetchFile;
  /** the pack file cache (Cache Storage), or null where there is none (then every load fetches) */
  openCache(): Promise<CacheLike | null>;
}

/** Tell the page which backend runs and why. */
export function postDevice(ctx: WorkerContext, env: LoadEnv, device: DeviceChoice): void {
  ctx.post({
    status: 'device',
    backend: device.backend,
    reason: device.reason,
    threads: device.threads,
    crossOriginIsolated: env.crossOriginIsolated,
  });
}

/**
 * `ort` whose session runs refuse to start once the running generation is aborted. Wrapped
 * inside withYieldingRuns, the check falls between the yield (where a 'cancel' message gets in)
 * and the evaluation, so a cancel that arrives in that gap does not cost one more step.
 */
function withAbortCheck(ort: OrtModule, signal: () => AbortSignal | null): OrtModule {
  const checked = (session: OrtSession): OrtSession =>
    new Proxy(session, {
      get(target, prop) {
        if (prop === 'run') {
          return (feeds: Parameters<OrtSession['run']>[0]) =>
            signal()?.aborted ? Promise.reject(new CancelledError()) : target.run(feeds);
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return {
    Tensor: ort.Tensor,
    InferenceSession: { create: async (model, options) => checked(await ort.InferenceSession.create(model, options)) },
  };
}

interface Created {
  pipeline: Pipeline;
  precision: PrecisionChoice;
  warmUpMs: number;
}

/**
 * Load the pack on `device` (float16 variants where selectPrecision says so) and run each
 * graph once before ready: first runs allocate and, on WebGPU, compile shaders.
 */
async function createPipeline(
  ctx: WorkerContext,
  ort: OrtModule,
  device: DeviceChoice,
  fetchFile: FetchFile,
  req: LoadRequest,
  cache: PackFileCache | undefined,
): Promise<Created> {
  const lastPost = new Map<string, number>();
  let precision: PrecisionChoice = { dtype: 'float32', reason: 'float32 weights' };
  const pipeline = await Pipeline.load({
    ort: withYieldingRuns(withAbortCheck(ort, () => ctx.activeSignal)),
    backend: device.backend,
    fetchFile,
    cache,
    precision: (m) => {
      const graphs = packGraphs(m);
      precision = selectPrecision({
        backend: device.backend,
        shaderF16: device.shaderF16 ?? false,
        float16Graphs: countVariants(graphs, 'float16'),
        totalGraphs: graphs.length,
        preference: req.precision,
      });
      return precision.dtype;
    },
    onPhase: (phase) => ctx.post({ status: 'phase', phase, precision }),
    onFile: (e) => {
      const now = performance.now();
      const last = lastPost.get(e.file);
      if (!e.done && last !== undefined && now - last < FILE_PROGRESS_INTERVAL_MS) return;
      lastPost.set(e.file, now);
      ctx.post({ status: 'file', file: e.file, loaded: e.loaded, total: e.total, done: e.done, source: e.source });
    },
  });
  try {
    ctx.post({ status: 'phase', phase: 'warm-up', precision });
    const warmUpMs = await pipeline.warmUp();
    return { pipeline, precision, warmUpMs };
  } catch (e) {
    await pipeline.dispose();
    throw e;
  }
}

/** Loads `req.packUrl`, replying ready or error; the pack in use stays until the new one is ready. */
export async function runLoad(ctx: WorkerContext, env: LoadEnv, req: LoadRequest): Promise<void> {
  const t0 = performance.now();
  // the pack in use now stays in use until the new one is ready, and if the new one fails
  const previous = ctx.loaded;
  try {
    ctx.post({ status: 'phase', phase: 'manifest' });
    let device = await env.selectDevice(req.backend);
    postDevice(ctx, env, device);
    const fetchFile = env.fetchFile(req.packUrl);
    const rawCache = await env.openCache();
    const cache = rawCache ? packFileCache(rawCache, req.packUrl) : undefined;
    let created: Created;
    try {
      created = await createPipeline(ctx, await env.loadOrt(device), device, fetchFile, req, cache);
    } catch (e) {
      // A pack problem is the pack's fault on any device: report it. A WebGPU failure
      // (an operator the adapter cannot run) falls back to WASM when the user let us choose.
      if (errorKind(e) !== 'device' || device.backend !== 'webgpu' || req.backend !== 'auto') throw e;
      device = {
        backend: 'wasm',
        threads: device.threads,
        reason: `WebGPU: could not run the pack (${errorProblem(e)}), using WASM (${device.threads} threads)`,
      };
      postDevice(ctx, env, device);
      created = await createPipeline(ctx, await env.loadOrt(device), device, fetchFile, req, cache);
    }
    const { pipeline, precision, warmUpMs } = created;
    const report = pipeline.loadReport;
    const ready: ReadyReply = {
      status: 'ready',
      packUrl: req.packUrl,
      manifest: summarizeManifest(pipeline.manifest),
      backend: pipeline.backend,
      loadMs: performance.now() - t0,
      load: {
        precision,
        graphs: (report?.graphs ?? []).map(({ file, dtype, externalData }) => ({ file, dtype, externalData })),
        manifestSource: report?.manifestSource ?? 'network',
        filesFromCache: report?.fromCache ?? 0,
        filesFromNetwork: report?.fromNetwork ?? 0,
        bytes: report?.bytes ?? 0,
        warmUpMs,
      },
    };
    ctx.loaded = { pipeline, backend: pipeline.backend, packUrl: req.packUrl, device, ready };
    ctx.post(ready);
    if (previous) await previous.pipeline.dispose();
    // older versions of this pack's files are dead weight in the cache
    if (rawCache) await prunePack(rawCache, req.packUrl, pipeline.manifest).catch(() => 0);
  } catch (e) {
    if (previous) {
      // the earlier pack is still loaded: say so, and show it again
      ctx.loaded = previous;
      const reply = errorReply(e, 'load', { recoverable: true });
      ctx.post({
        ...reply,
        message: `${reply.message.replace(/\.$/, '')}. The pack that was loaded before (${previous.ready.manifest.name}) is still in use.`,
      });
      postDevice(ctx, env, previous.device);
      ctx.post({ ...previous.ready, restored: true });
    } else {
      ctx.post(errorReply(e, 'load', { recoverable: false }));
    }
  }
}
