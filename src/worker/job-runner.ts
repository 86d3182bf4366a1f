// The worker's job runner: one generation or one denoiser evaluation on the loaded pack,
// answered with progress, done, cancelled or an error reply (protocol.ts).

import { encodeWav } from '../engine/wav';
import { errorKind, errorProblem, SoundstepError } from '../runtime/errors';
import { checkOnDemand } from './capacity-check';
import { deviceLostMessage, markDeviceLost } from './device-lost';
import type { DenoiseOnceRequest, GenerateMessage } from './protocol';
import { errorReply, fileReplies, type Loaded, type WorkerContext } from './worker-context';

/** A request that needs a pack while none is loaded. */
const noPack = (): SoundstepError => new SoundstepError('pack', 'No model pack is loaded.');

/** A request made for pack `wanted` while another one has been loaded since. */
const otherPack = (wanted: string, loaded: Loaded): SoundstepError =>
  new SoundstepError(
    'input',
    `This sound was asked of the pack at ${wanted}, but ${loaded.ready.manifest.name} (${loaded.packUrl}) has been loaded since; nothing was made. Press Generate to make it with the pack now in use.`,
  );

/** The WAV bytes as a standalone ArrayBuffer that can be transferred. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}

/** 'cancelled', with the steps at which the cancel arrived and the generation stopped. */
function postCancelled(ctx: WorkerContext, id: number): void {
  ctx.post({ status: 'cancelled', id, cancelAtStep: ctx.cancelStep.get(id), stoppedAtStep: ctx.denoiseStep.get(id) });
}

/**
 * A denoiser not loaded yet is downloaded (posting 'file' replies for generation `id`) and its
 * session created, then 'denoiser-ready' tells the page; aborting `signal` stops the download.
 */
async function ensureDenoiser(ctx: WorkerContext, loaded: Loaded, id: number, request: GenerateMessage['request'], signal: AbortSignal): Promise<void> {
  const { pipeline } = loaded;
  if (pipeline.hasDenoiser(request.denoiserId)) return;
  pipeline.validateRequest(request); // a request the pack refuses downloads nothing
  checkOnDemand(loaded, request.denoiserId); // nor one this device cannot hold beside what is loaded
  await pipeline.ensureDenoiser(request.denoiserId, { signal, onFile: fileReplies(ctx, id) });
  // the ready reply is sent again when a later load fails (restored): it must not list it any more
  const load = loaded.ready.load;
  if (load?.onDemand) {
    loaded.ready = { ...loaded.ready, load: { ...load, onDemand: load.onDemand.filter((g) => g.denoiserId !== request.denoiserId) } };
  }
  ctx.post({ status: 'denoiser-ready', id, denoiserId: request.denoiserId });
}

/** Runs generation `msg.id` to 'done', 'cancelled' (its controller aborted) or 'error'. */
export async function runGenerate(ctx: WorkerContext, msg: GenerateMessage, controller: AbortController): Promise<void> {
  const { id, request } = msg;
  const running = ctx.loaded;
  /** true while a denoiser downloads for it: a failure then is that download's */
  let downloading = false;
  try {
    if (controller.signal.aborted) {
      ctx.post({ status: 'cancelled', id });
      return;
    }
    const loaded = ctx.loaded;
    if (!loaded) {
      ctx.post(errorReply(noPack(), 'generate', { id, recoverable: false }));
      return;
    }
    if (msg.packUrl !== undefined && msg.packUrl !== loaded.packUrl) {
      ctx.post(errorReply(otherPack(msg.packUrl, loaded), 'generate', { id, recoverable: true }));
      return;
    }
    const pack = { url: loaded.packUrl, id: loaded.ready.manifest.id, name: loaded.ready.manifest.name };
    const t0 = performance.now();
    ctx.activeSignal = controller.signal;
    downloading = true;
    await ensureDenoiser(ctx, loaded, id, request, controller.signal);
    downloading = false;
    const result = await loaded.pipeline.generate(request, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'denoise' && p.step !== undefined) ctx.denoiseStep.set(id, p.step);
        ctx.post({ status: 'progress', id, stage: p.stage, step: p.step, totalSteps: p.totalSteps });
      },
    });
    if (controller.signal.aborted) {
      postCancelled(ctx, id);
      return;
    }
    const wav = ownBuffer(encodeWav(result.waveform, result.sampleRate));
    ctx.post(
      {
        status: 'done',
        id,
        pack,
        wav,
        sampleRate: result.sampleRate,
        numSamples: result.waveform.length,
        timings: result.timings,
        totalMs: performance.now() - t0,
        networkEvaluations: result.networkEvaluations,
        truncated: result.truncated,
        tokenCount: result.tokenCount,
        latent: result.latent,
        ...(result.timeSplit ? { timeSplit: result.timeSplit } : {}),
        request: { ...request },
      },
      [wav, result.latent.buffer as ArrayBuffer],
    );
  } catch (e) {
    // once aborted, whatever the run threw ends in 'cancelled'
    if (errorKind(e) === 'cancelled' || controller.signal.aborted) postCancelled(ctx, id);
    else if (running?.backend === 'webgpu' && errorKind(e) === 'device') {
      // GPUDevice.lost, or ONNX Runtime failing on WebGPU: rebuilt on WASM, and this one can be retried
      markDeviceLost(ctx, errorProblem(e));
      const reply = errorReply(e, 'generate', { id, recoverable: true });
      ctx.post({ ...reply, file: undefined, message: deviceLostMessage(ctx.deviceLost ?? errorProblem(e)), deviceLost: true });
    } else {
      const download = downloading && errorKind(e) === 'pack' ? { download: true } : {};
      ctx.post({ ...errorReply(e, 'generate', { id, recoverable: true }), ...download });
    }
  } finally {
    ctx.activeSignal = null;
    ctx.controllers.delete(id);
    ctx.denoiseStep.delete(id);
    ctx.cancelStep.delete(id);
  }
}

/** One denoiser evaluation (text encoder first unless `hidden` is given). */
export async function runDenoiseOnce(ctx: WorkerContext, req: DenoiseOnceRequest): Promise<void> {
  const { id } = req;
  const loaded = ctx.loaded;
  try {
    if (!loaded) throw noPack();
    const t0 = performance.now();
    const hidden = req.hidden ?? (await loaded.pipeline.encodeText(req.inputIds, req.attentionMask, req.batch));
    const output = await loaded.pipeline.denoiseOnce(req.denoiserId, req.sample, req.timestep, hidden, req.attentionMask, req.batch);
    const ms = performance.now() - t0;
    ctx.post({ status: 'denoise-once-result', id, backend: loaded.backend, output, hidden, ms }, [output.buffer as ArrayBuffer]);
  } catch (e) {
    ctx.post(errorReply(e, 'denoise-once', { id, recoverable: ctx.loaded !== null }));
  }
}
