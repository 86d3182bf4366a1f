// The generation worker: owns onnxruntime-web and the Pipeline, so the page never blocks.
// Speaks src/worker/protocol.ts. Requests run one at a time (ORT-web throws on concurrent
// session creation); 'cancel' is handled at once by aborting the request's AbortController.
//
// onnxruntime-web is imported per backend by ./ort-loader.ts (which build, which .wasm).

import type { Backend } from '../runtime/api';
import { Pipeline } from '../runtime/pipeline';
import type { OrtModule, OrtSession } from '../runtime/ort';
import type { Manifest } from '../runtime/manifest';
import { httpFetchFile, type FetchFile, type PackFileCache } from '../runtime/pack';
import { browserCacheStorage, packFileCache, prunePack, PACK_CACHE_NAME, type CacheLike } from '../runtime/pack-cache';
import { countVariants, packGraphs, selectPrecision, type PrecisionChoice } from '../runtime/graphs';
import { abortError, PackError } from '../runtime/errors';
import { encodeWav } from '../engine/wav';
import { selectDevice, type DeviceChoice, type GpuLike } from './device';
import { loadOrt, type Ort } from './ort-loader';
import { withYieldingRuns } from './yielding-ort';
import type {
  DenoiseOnceRequest,
  GenerateMessage,
  LoadRequest,
  ManifestSummary,
  ReadyReply,
  WorkerReply,
  WorkerRequest,
} from './protocol';

/** The worker global, typed with only what we use (the DOM lib has no worker scope). */
interface WorkerScope {
  readonly name: string;
  readonly crossOriginIsolated: boolean;
  readonly navigator: Navigator & { gpu?: GpuLike };
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerRequest>) => void): void;
}
const scope = self as unknown as WorkerScope;

/** Milliseconds between two 'file' progress replies for the same file. */
const FILE_PROGRESS_INTERVAL_MS = 100;

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

interface Loaded {
  pipeline: Pipeline;
  backend: Backend;
  packUrl: string;
  /** re-sent when a later load fails and this pack stays in use */
  device: DeviceChoice;
  ready: ReadyReply;
}

let loaded: Loaded | null = null;
/** the tail of the request chain: each request starts when the previous one settled */
let chain: Promise<void> = Promise.resolve();
/** AbortControllers of generations that are queued or running, by request id */
const controllers = new Map<number, AbortController>();
/** the running generation's signal: checked after each yield, right before a network evaluation */
let activeSignal: AbortSignal | null = null;
/** last denoising step finished, and that step when 'cancel' arrived, by request id */
const denoiseStep = new Map<number, number>();
const cancelStep = new Map<number, number>();

const post = (reply: WorkerReply, transfer?: Transferable[]): void => scope.postMessage(reply, transfer);

/** Tell the page which backend runs and why. */
function postDevice(device: DeviceChoice): void {
  post({
    status: 'device',
    backend: device.backend,
    reason: device.reason,
    threads: device.threads,
    crossOriginIsolated: scope.crossOriginIsolated,
  });
}

function enqueue(task: () => Promise<void>): void {
  chain = chain.then(task, task);
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/** The problem in words; for a PackError without the file name (the reply names it apart). */
function errorMessage(e: unknown): string {
  if (e instanceof PackError) return e.problem;
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

function errorFile(e: unknown): string | undefined {
  return e instanceof PackError ? e.file : undefined;
}

function summarize(m: Manifest): ManifestSummary {
  return {
    id: m.id,
    name: m.name,
    description: m.description,
    license: m.license,
    sampleRate: m.audio.sample_rate,
    numSamples: m.audio.num_samples,
    clipSeconds: m.audio.clip_seconds,
    maxTokens: m.text.max_tokens,
    denoisers: m.denoisers.map((d) => ({
      id: d.id,
      role: d.role,
      method: d.method ?? null,
      steps: [...d.steps],
      guidance:
        d.guidance.type === 'classifier-free'
          ? { type: 'classifier-free' as const, defaultScale: d.guidance.default_scale }
          : { type: 'folded' as const },
    })),
    mel: {
      sample_rate: m.audio.sample_rate,
      n_fft: m.audio.n_fft,
      hop_length: m.audio.hop_length,
      win_length: m.audio.win_length,
      n_mels: m.audio.n_mels,
      f_min: m.audio.f_min,
      f_max: m.audio.f_max,
      log_floor: m.audio.log_floor,
    },
    metrics: m.metrics ?? null,
  };
}

/** The WAV bytes as a standalone ArrayBuffer that can be transferred. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/**
 * `ort` whose session runs refuse to start once the running generation is aborted. Wrapped
 * inside withYieldingRuns, the check falls between the yield (where a 'cancel' message gets in)
 * and the evaluation, so a cancel that arrives in that gap does not cost one more step.
 */
function withAbortCheck(ort: OrtModule): OrtModule {
  const checked = (session: OrtSession): OrtSession =>
    new Proxy(session, {
      get(target, prop) {
        if (prop === 'run') {
          return (feeds: Parameters<OrtSession['run']>[0]) =>
            activeSignal?.aborted ? Promise.reject(abortError()) : target.run(feeds);
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

/** The pack file cache (Cache Storage), or null where the browser has none (then every load fetches). */
async function openCache(): Promise<CacheLike | null> {
  try {
    return (await browserCacheStorage()?.open(PACK_CACHE_NAME)) ?? null;
  } catch {
    return null;
  }
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
  ort: Ort,
  device: DeviceChoice,
  fetchFile: FetchFile,
  req: LoadRequest,
  cache: PackFileCache | undefined,
): Promise<Created> {
  const lastPost = new Map<string, number>();
  let precision: PrecisionChoice = { dtype: 'float32', reason: 'float32 weights' };
  const pipeline = await Pipeline.load({
    ort: withYieldingRuns(withAbortCheck(ort)),
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
    onPhase: (phase) => post({ status: 'phase', phase, precision }),
    onFile: (e) => {
      const now = performance.now();
      const last = lastPost.get(e.file);
      if (!e.done && last !== undefined && now - last < FILE_PROGRESS_INTERVAL_MS) return;
      lastPost.set(e.file, now);
      post({ status: 'file', file: e.file, loaded: e.loaded, total: e.total, done: e.done, source: e.source });
    },
  });
  try {
    post({ status: 'phase', phase: 'warm-up', precision });
    const warmUpMs = await pipeline.warmUp();
    return { pipeline, precision, warmUpMs };
  } catch (e) {
    await pipeline.dispose();
    throw e;
  }
}

/**
 * True when `e` says the device could not run a graph (session creation or a run failed),
 * as opposed to a pack problem (missing file, wrong size or hash, bad manifest), which would
 * fail on any device.
 */
function isDeviceFailure(e: unknown): boolean {
  if (!(e instanceof PackError)) return true;
  return e.problem.startsWith('could not create an ONNX session');
}

async function handleLoad(req: LoadRequest): Promise<void> {
  const t0 = performance.now();
  // the pack in use now stays in use until the new one is ready, and if the new one fails
  const previous = loaded;
  try {
    post({ status: 'phase', phase: 'manifest' });
    let device = await selectDevice(req.backend, {
      gpu: scope.navigator.gpu,
      crossOriginIsolated: scope.crossOriginIsolated,
      hardwareConcurrency: scope.navigator.hardwareConcurrency,
    });
    postDevice(device);
    const fetchFile = httpFetchFile(req.packUrl);
    const rawCache = await openCache();
    const cache = rawCache ? packFileCache(rawCache, req.packUrl) : undefined;
    let created: Created;
    try {
      created = await createPipeline(await loadOrt(device), device, fetchFile, req, cache);
    } catch (e) {
      // A pack problem is the pack's fault on any device: report it. A WebGPU failure
      // (an operator the adapter cannot run) falls back to WASM when the user let us choose.
      if (!isDeviceFailure(e) || device.backend !== 'webgpu' || req.backend !== 'auto') throw e;
      device = {
        backend: 'wasm',
        threads: device.threads,
        reason: `WebGPU: could not run the pack (${errorMessage(e)}), using WASM (${device.threads} threads)`,
      };
      postDevice(device);
      created = await createPipeline(await loadOrt(device), device, fetchFile, req, cache);
    }
    const { pipeline, precision, warmUpMs } = created;
    const report = pipeline.loadReport;
    const ready: ReadyReply = {
      status: 'ready',
      packUrl: req.packUrl,
      manifest: summarize(pipeline.manifest),
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
    loaded = { pipeline, backend: pipeline.backend, packUrl: req.packUrl, device, ready };
    post(ready);
    if (previous) await previous.pipeline.dispose();
    // older versions of this pack's files are dead weight in the cache
    if (rawCache) await prunePack(rawCache, req.packUrl, pipeline.manifest).catch(() => 0);
  } catch (e) {
    if (previous) {
      // the earlier pack is still loaded: say so, and show it again
      loaded = previous;
      post({
        status: 'error',
        during: 'load',
        message: `${errorMessage(e).replace(/\.$/, "")}. The pack that was loaded before (${previous.ready.manifest.name}) is still in use.`,
        file: errorFile(e),
        recoverable: true,
      });
      postDevice(previous.device);
      post({ ...previous.ready, restored: true });
    } else {
      post({ status: 'error', during: 'load', message: errorMessage(e), file: errorFile(e), recoverable: false });
    }
  }
}

async function handleGenerate(msg: GenerateMessage, controller: AbortController): Promise<void> {
  const { id, request } = msg;
  try {
    if (controller.signal.aborted) {
      post({ status: 'cancelled', id });
      return;
    }
    if (!loaded) {
      post({ status: 'error', id, during: 'generate', message: 'No model pack is loaded.', recoverable: false });
      return;
    }
    const t0 = performance.now();
    activeSignal = controller.signal;
    const result = await loaded.pipeline.generate(request, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'denoise' && p.step !== undefined) denoiseStep.set(id, p.step);
        post({ status: 'progress', id, stage: p.stage, step: p.step, totalSteps: p.totalSteps });
      },
    });
    if (controller.signal.aborted) {
      postCancelled(id);
      return;
    }
    const wav = ownBuffer(encodeWav(result.waveform, result.sampleRate));
    post(
      {
        status: 'done',
        id,
        wav,
        sampleRate: result.sampleRate,
        numSamples: result.waveform.length,
        timings: result.timings,
        totalMs: performance.now() - t0,
        networkEvaluations: result.networkEvaluations,
        truncated: result.truncated,
        tokenCount: result.tokenCount,
        request: { ...request },
      },
      [wav],
    );
  } catch (e) {
    if (controller.signal.aborted) {
      postCancelled(id);
    } else {
      post({ status: 'error', id, during: 'generate', message: errorMessage(e), file: errorFile(e), recoverable: true });
    }
  } finally {
    activeSignal = null;
    controllers.delete(id);
    denoiseStep.delete(id);
    cancelStep.delete(id);
  }
}

/** 'cancelled', with the steps at which the cancel arrived and the generation stopped. */
function postCancelled(id: number): void {
  post({ status: 'cancelled', id, cancelAtStep: cancelStep.get(id), stoppedAtStep: denoiseStep.get(id) });
}

async function handleDenoiseOnce(req: DenoiseOnceRequest): Promise<void> {
  const { id } = req;
  try {
    if (!loaded) throw new Error('No model pack is loaded.');
    const t0 = performance.now();
    const hidden = req.hidden ?? (await loaded.pipeline.encodeText(req.inputIds, req.attentionMask, req.batch));
    const output = await loaded.pipeline.denoiseOnce(
      req.denoiserId,
      req.sample,
      req.timestep,
      hidden,
      req.attentionMask,
      req.batch,
    );
    const ms = performance.now() - t0;
    post({ status: 'denoise-once-result', id, backend: loaded.backend, output, hidden, ms }, [output.buffer as ArrayBuffer]);
  } catch (e) {
    post({
      status: 'error',
      id,
      during: 'denoise-once',
      message: errorMessage(e),
      file: errorFile(e),
      recoverable: loaded !== null,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------

function onMessage(e: MessageEvent<WorkerRequest>): void {
  const msg = e.data;
  switch (msg.type) {
    case 'load':
      enqueue(() => handleLoad(msg));
      break;
    case 'generate': {
      const controller = new AbortController();
      controllers.set(msg.id, controller);
      enqueue(() => handleGenerate(msg, controller));
      break;
    }
    case 'cancel': {
      const step = denoiseStep.get(msg.id);
      if (step !== undefined && !cancelStep.has(msg.id)) cancelStep.set(msg.id, step);
      controllers.get(msg.id)?.abort();
      break;
    }
    case 'denoise-once':
      enqueue(() => handleDenoiseOnce(msg));
      break;
    default: {
      const unknown: never = msg;
      post({
        status: 'error',
        during: 'generate',
        message: `unknown request ${JSON.stringify(unknown)}`,
        recoverable: loaded !== null,
      });
    }
  }
}

// ORT's WASM threads may start this chunk as a pthread worker: only the real worker listens.
if (!scope.name.startsWith('em-pthread')) {
  scope.addEventListener('message', onMessage);
}

