// The worker's pack loader: choose a device, load and warm up the pack, fall back from WebGPU
// to WASM when the device (not the pack) fails, and keep the earlier pack when a load fails.

import { summarizeManifest } from '../domain/pack-summary';
import { errorKind, errorProblem, CancelledError } from '../runtime/errors';
import { selectPackPrecision, type PrecisionChoice } from '../runtime/graphs';
import type { OrtModule, OrtSession } from '../runtime/ort';
import type { FetchFile } from '../runtime/pack';
import { packFileCache, prunePack, type CacheLike } from '../runtime/pack-cache';
import { Pipeline } from '../runtime/pipeline';
import type { DeviceChoice } from './device';
import type { BackendPreference, LoadRequest, ReadyReply } from './protocol';
import { untilDeviceLost, watchDevice, type GpuDeviceLike } from './device-lost';
import { errorReply, fileReplies, type Loaded, type WorkerContext } from './worker-context';
import { keepOffline, type OfflineKeeper, type StorageEstimateLike } from './offline-keeper';
import { checkCapacity, type CapacityContext } from './capacity-check';
import { withYieldingRuns } from './yielding-ort';

/** What loading needs from the browser (a test passes Node stand-ins). */
export interface LoadEnv {
  crossOriginIsolated: boolean;
  selectDevice(preference: BackendPreference): Promise<DeviceChoice>;
  loadOrt(device: DeviceChoice): Promise<OrtModule>;
  fetchFile(packUrl: string): FetchFile;
  /** the pack file cache (Cache Storage), or null where there is none (then every load fetches); rejects when it cannot be opened */
  openCache(): Promise<CacheLike | null>;
  /** navigator.storage.estimate(), or null where the browser has none */
  storageEstimate(): Promise<StorageEstimateLike | null>;
  /** the GPUDevice onnxruntime-web runs WebGPU sessions on, once one is created (null: none) */
  webgpuDevice(): Promise<GpuDeviceLike | null>;
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
 * `ort` whose session runs refuse to start once the running generation is aborted (or the
 * device is lost). Wrapped
 * inside withYieldingRuns, the check falls between the yield (where a 'cancel' message gets in)
 * and the evaluation, so a cancel that arrives in that gap does not cost one more step.
 */
export function withAbortCheck(ort: OrtModule, ctx: WorkerContext, backend: DeviceChoice['backend']): OrtModule {
  const checked = (session: OrtSession): OrtSession =>
    new Proxy(session, {
      get(target, prop) {
        if (prop === 'run') {
          // a lost WebGPU device fails a WebGPU run at once (device-lost.ts), before or during it;
          // the WASM rebuild's runs do not wait on it
          // (fetches pass through: the device loop's pre-allocated GPU outputs, device-loop.ts)
          return (...args: Parameters<OrtSession['run']>) =>
            ctx.activeSignal?.aborted
              ? Promise.reject(new CancelledError())
              : backend === 'webgpu'
                ? untilDeviceLost(ctx, () => target.run(...args))
                : target.run(...args);
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return {
    ...ort, // env and the rest as they are (the device loop needs env.webgpu)
    InferenceSession: { create: async (model, options) => checked(await ort.InferenceSession.create(model, options)) },
  };
}

interface Created {
  pipeline: Pipeline;
  precision: PrecisionChoice;
  warmUpMs: number;
}

/** What one load attempt shares: its request, the cache and storage it writes through, its signal. */
interface Attempt {
  req: LoadRequest;
  fetchFile: FetchFile;
  keeper: OfflineKeeper;
  capacity: Omit<CapacityContext, 'device'>;
  signal: AbortSignal;
}

/** The load was cancelled (LoadCancelRequest): the pipeline made so far is let go. */
function loadCancelled(req: LoadRequest): CancelledError {
  return new CancelledError(
    `Loading ${req.packUrl} was cancelled. Files that had finished downloading stay in the browser cache, so loading it again continues from there.`,
  );
}

/**
 * Load the pack on `device` (float16 variants where selectPrecision says so, or where the
 * capacity check moves a graph too large for the GPU's buffers to them) and run each loaded
 * graph once before ready: first runs allocate and, on WebGPU, compile shaders. Before any
 * graph is fetched, checkCapacity stops a pack the device cannot hold. One denoiser loads now
 * (the pack's default); the others on first use, through the same `ort` (so their sessions get
 * withAbortCheck and withYieldingRuns too) and the same cache.
 */
async function createPipeline(ctx: WorkerContext, ort: OrtModule, device: DeviceChoice, a: Attempt): Promise<Created> {
  let precision: PrecisionChoice = { dtype: 'float32', reason: 'float32 weights' };
  const pipeline = await Pipeline.load({
    ort: withYieldingRuns(withAbortCheck(ort, ctx, device.backend)),
    backend: device.backend,
    fetchFile: a.fetchFile,
    cache: a.keeper.cache,
    signal: a.signal,
    precision: async (m, upFront) => {
      const chosen = selectPackPrecision(m, {
        backend: device.backend,
        shaderF16: device.shaderF16 ?? false,
        preference: a.req.precision,
      });
      const plan = await checkCapacity({ ...a.capacity, device }, m, upFront, chosen);
      if (plan.storage) a.keeper.refuse(plan.storage);
      precision = plan.precision;
      return precision.dtype;
    },
    onPhase: (phase) => ctx.post({ status: 'phase', phase, precision }),
    onFile: fileReplies(ctx),
  });
  try {
    if (a.signal.aborted) throw loadCancelled(a.req);
    ctx.post({ status: 'phase', phase: 'warm-up', precision });
    const warmUpMs = await pipeline.warmUp();
    return { pipeline, precision, warmUpMs };
  } catch (e) {
    await pipeline.dispose();
    throw e;
  }
}

/**
 * Loads `req.packUrl`, replying ready or error; the pack in use stays until the new one is ready.
 * Aborting `signal` (a 'cancel-load' request) stops the downloads and ends the load with an error
 * of kind 'cancelled'.
 */
export async function runLoad(ctx: WorkerContext, env: LoadEnv, req: LoadRequest, signal = new AbortController().signal): Promise<void> {
  const t0 = performance.now();
  // the pack in use now stays in use until the new one is ready, and if the new one fails
  const previous = ctx.loaded;
  try {
    ctx.post({ status: 'phase', phase: 'manifest' });
    let device = await env.selectDevice(req.backend);
    if (req.because) device = { ...device, reason: req.because };
    postDevice(ctx, env, device);
    const fetchFile = env.fetchFile(req.packUrl);
    const opened = await env.openCache().then((c) => ({ c, error: null }), (error: unknown) => ({ c: null, error }));
    const rawCache = opened.c;
    // checked before anything is cached: a file that does not fit is not stored, and the user is told
    const estimate = rawCache ? await env.storageEstimate().catch(() => null) : null;
    const keeper = keepOffline(rawCache ? packFileCache(rawCache, req.packUrl) : undefined, estimate, opened.error);
    const attempt: Attempt = { req, fetchFile, keeper, capacity: { packUrl: req.packUrl, cache: rawCache, storage: estimate }, signal };
    let created: Created;
    try {
      created = await createPipeline(ctx, await env.loadOrt(device), device, attempt);
    } catch (e) {
      // A pack problem is the pack's fault on any device: report it. A WebGPU failure
      // (an operator the adapter cannot run, a tensor over its buffer limits) falls back to WASM when the user let us choose.
      if (signal.aborted) throw loadCancelled(req);
      if (errorKind(e) !== 'device' || device.backend !== 'webgpu' || req.backend !== 'auto') throw e;
      device = {
        backend: 'wasm',
        threads: device.threads,
        reason: `WebGPU: could not run the pack (${errorProblem(e)}), using WASM (${device.threads} threads)`,
      };
      postDevice(ctx, env, device);
      created = await createPipeline(ctx, await env.loadOrt(device), device, attempt);
    }
    const { pipeline, precision, warmUpMs } = created;
    const report = pipeline.loadReport;
    const ready: ReadyReply = {
      status: 'ready',
      packUrl: req.packUrl,
      manifest: summarizeManifest(pipeline.manifest, pipeline.longClips),
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
        offline: keeper.status(),
        onDemand: pipeline.notLoaded().flatMap(({ kind, denoiserId, file, bytes }) =>
          kind === 'denoiser' || kind === 'vae-encoder' ? [{ kind, ...(denoiserId ? { denoiserId } : {}), file, bytes }] : [],
        ),
      },
    };
    const loaded: Loaded = { pipeline, backend: pipeline.backend, packUrl: req.packUrl, device, ready };
    ctx.loaded = loaded;
    ctx.deviceLost = null;
    if (pipeline.backend === 'webgpu') {
      const gpu = await env.webgpuDevice();
      if (gpu) watchDevice(ctx, loaded, gpu);
    }
    ctx.post(ready);
    // (sessions on a lost device may never release: that pipeline is let go without waiting)
    if (previous?.backend === 'webgpu' && req.because) void previous.pipeline.dispose().catch(() => undefined);
    else if (previous) await previous.pipeline.dispose();
    // older versions of this pack's files are dead weight in the cache
    if (rawCache) await prunePack(rawCache, req.packUrl, pipeline.manifest).catch(() => 0);
  } catch (caught) {
    // a cancelled load says so in one sentence, whichever download or step it stopped
    const e = signal.aborted ? loadCancelled(req) : caught;
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
