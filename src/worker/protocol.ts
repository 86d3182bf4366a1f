// The one message protocol between the page and src/worker/generate.worker.ts.
// Both sides import these types; nothing else crosses the worker boundary.
//
// Requests (page -> worker) carry `type`; replies (worker -> page) carry `status`.
// Requests that expect an answer carry an `id`, echoed by every reply about them.
//
//   page                         worker
//   load ----------------------> device, phase*, file*, ready | error (+ device, ready(restored)
//                                when an earlier pack stays in use)
//   cancel-load ---------------> (the running or queued load ends with error(kind 'cancelled');
//                                files already verified stay cached, nothing half-written does)
//   generate(id) --------------> [file(id)*, denoiser-ready(id): its denoiser's first use downloads it]
//                                progress(id)*, done(id) | cancelled(id) | error(id)
//   cancel(id) ----------------> (the running generate(id) ends with cancelled(id))
//   denoise-once(id) ----------> denoise-once-result(id) | error(id)
//   read-prompt(id) -----------> prompt-reading(id) | error(id) | nothing (a newer read-prompt replaced it)

import type { Backend, GenerateRequest, Stage } from '../runtime/api';
import type { ManifestSummary } from '../domain/pack-summary';
import type { PromptReading } from '../domain/prompt-reading';
import type { ErrorKind } from '../runtime/errors';
import type { PrecisionChoice, PrecisionPreference, WeightDtype } from '../runtime/graphs';
import type { FileSource } from '../runtime/pack';
import type { OfflineStatus } from './offline-keeper';

export type { PrecisionChoice, PrecisionPreference, WeightDtype } from '../runtime/graphs';
export type { FileSource } from '../runtime/pack';

/** What the page asks for; 'auto' = WebGPU on a hardware adapter, else WASM. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'webgpu', 'wasm'];

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/**
 * Load (or reload) the model pack at `packUrl`. The previously loaded pack stays loaded until
 * the new one is ready, and stays in use if the new one fails.
 */
export interface LoadRequest {
  type: 'load';
  /** base URL of the pack folder, ending in '/' (e.g. '/models/soundstep-small/') */
  packUrl: string;
  backend: BackendPreference;
  /** which weights where the pack has float16 variants; default 'auto' (graphs.ts selectPrecision) */
  precision?: PrecisionPreference;
  /** why this load runs, said as the device reason (the worker's own rebuild after a lost GPU device) */
  because?: string;
}

/** Run the five stages for one prompt. */
export interface GenerateMessage {
  type: 'generate';
  id: number;
  request: GenerateRequest;
  /**
   * the pack (its LoadRequest.packUrl) the request was made for: the worker refuses it when
   * another pack is loaded by the time it runs, so no job ever finishes on a pack it did not start on
   */
  packUrl?: string;
}

/**
 * Stop the pack load in progress (and any queued): its downloads abort, it ends with an error of
 * kind 'cancelled' (during 'load'), and the pack loaded before, if any, stays in use.
 */
export interface LoadCancelRequest {
  type: 'cancel-load';
}

/** Stop generation `id` after its current network evaluation. */
export interface CancelRequest {
  type: 'cancel';
  id: number;
}

/**
 * One denoiser evaluation on given inputs (device-parity tests, debugging), on the backend
 * the pack was loaded with. The text side is given as token ids: the worker runs the pack's
 * text encoder on them, unless `hidden` is given, which is then used as is.
 */
export interface DenoiseOnceRequest {
  type: 'denoise-once';
  id: number;
  denoiserId: string;
  /** z_t, [batch, C, T, F] flattened */
  sample: Float32Array;
  /** training timestep t (0..999) */
  timestep: number;
  /** [batch, L] token ids, L = text.max_tokens */
  inputIds: BigInt64Array;
  /** [batch, L] 1 for tokens, 0 for padding */
  attentionMask: BigInt64Array;
  batch: number;
  /** encoder_hidden_states [batch, L, H]; when given the text encoder is skipped */
  hidden?: Float32Array;
}

/**
 * How close `prompt` is to what the pack was trained on, read with the pack's own text encoder
 * (src/worker/prompt-reader.ts). It runs only while no other request is queued or running, so it
 * never holds up a generation; one that has not run yet is replaced by a newer one (no reply).
 */
export interface ReadPromptRequest {
  type: 'read-prompt';
  id: number;
  prompt: string;
}

export type WorkerRequest = LoadRequest | LoadCancelRequest | GenerateMessage | CancelRequest | DenoiseOnceRequest | ReadPromptRequest;

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

/** Which backend runs, and a sentence saying why (shown to the user as is). */
export interface DeviceReply {
  status: 'device';
  backend: Backend;
  /** e.g. "WebGPU: no adapter, using WASM (2 threads)" */
  reason: string;
  /** WASM threads (also used by WebGPU for CPU-side ops) */
  threads: number;
  crossOriginIsolated: boolean;
}

/** Download progress of one pack file. */
export interface FileReply {
  status: 'file';
  /** the generation it downloads for (a denoiser loaded on first use); absent: the pack's load */
  id?: number;
  file: string;
  loaded: number;
  /** bytes; 0 when unknown */
  total: number;
  done: boolean;
  /** on the done reply: fetched, or read from the browser's Cache Storage */
  source?: FileSource;
}

/** What a load is doing now: reading the manifest, the files, creating sessions, warming up. */
export type LoadPhase = 'manifest' | 'files' | 'sessions' | 'warm-up';

/** A load entered `phase` (sent once per phase, in order). */
export interface PhaseReply {
  status: 'phase';
  phase: LoadPhase;
  /** from 'files' on: which weights will load, and why */
  precision?: PrecisionChoice;
}

/** A graph of the ready pack that is not downloaded yet: its first use fetches `bytes`. */
export interface OnDemandGraph {
  kind: 'denoiser' | 'vae-encoder';
  /** the denoiser id, for denoisers */
  denoiserId?: string;
  /** its graph file (pack-relative) */
  file: string;
  /** bytes of its files, external data included */
  bytes: number;
}

/** How the ready pack was loaded (ReadyReply.load). */
export interface LoadSummary {
  /** which weights, and why (e.g. "float32 weights: the WebGPU adapter has no shader-f16 ...") */
  precision: PrecisionChoice;
  /** the graph file each session was created from */
  graphs: Array<{ file: string; dtype: WeightDtype; externalData: string[] }>;
  /** where manifest.json came from ('cache' when the network failed) */
  manifestSource: FileSource;
  filesFromCache: number;
  filesFromNetwork: number;
  /** bytes of the loaded files */
  bytes: number;
  /** milliseconds of the warm-up run before ready (> 0: it ran) */
  warmUpMs: number;
  /** whether the pack is kept in this browser for offline use, and if not why (absent from older workers) */
  offline?: OfflineStatus;
  /**
   * the graphs loaded on first use, not downloaded yet (every denoiser but the one loaded up
   * front, and the VAE encoder); absent from older workers, which loaded everything
   */
  onDemand?: OnDemandGraph[];
}

/** The pack is validated and every session is created. */
export interface ReadyReply {
  status: 'ready';
  packUrl: string;
  manifest: ManifestSummary;
  backend: Backend;
  /** milliseconds from the load request to ready */
  loadMs: number;
  /** how it was loaded (absent from older workers) */
  load?: LoadSummary;
  /** true: a new load failed and this earlier pack is still the one in use */
  restored?: boolean;
}

/** Denoiser `denoiserId` was downloaded and its session created on its first use, by generation `id`. */
export interface DenoiserReadyReply {
  status: 'denoiser-ready';
  id: number;
  denoiserId: string;
}

/** Generation `id` entered `stage` (or finished denoising step `step` of `totalSteps`). */
export interface ProgressReply {
  status: 'progress';
  id: number;
  stage: Stage;
  step?: number;
  totalSteps?: number;
}

/** The pack a result came from. */
export interface PackRef {
  /** the LoadRequest.packUrl it was loaded from */
  url: string;
  /** manifest id and name */
  id: string;
  name: string;
}

export interface DoneReply {
  status: 'done';
  id: number;
  /** the pack that made it (the worker's, not whichever pack the page shows by now) */
  pack: PackRef;
  /** a complete 16-bit PCM WAV file (transferred, not copied) */
  wav: ArrayBuffer;
  sampleRate: number;
  numSamples: number;
  /** milliseconds per stage */
  timings: Record<Stage, number>;
  /** wall-clock milliseconds for the whole request inside the worker */
  totalMs: number;
  networkEvaluations: number;
  /** the prompt had more than text.max_tokens tokens and was cut */
  truncated: boolean;
  tokenCount: number;
  /**
   * the final latent [C, T, F] (transferred): a result keeps it so a range of it can be regenerated
   * (inpainting); the worker always sends it, test doubles may leave it out
   */
  latent?: Float32Array;
  /** the prompt's two parts when it named an order and was sampled in two halves (docs/sampling.md E23) */
  timeSplit?: [string, string];
  /** echo of the request, so the page can name the file */
  request: GenerateRequest;
}

export interface ErrorReply {
  status: 'error';
  /** the request this error ends; absent for 'load' */
  id?: number;
  during: 'load' | 'generate' | 'denoise-once' | 'read-prompt';
  /** whose fault it is (runtime/errors.ts): the page decides by this, never by the message */
  kind: ErrorKind;
  message: string;
  /** the pack file at fault (PackError.file), when there is one */
  file?: string;
  /**
   * true: the loaded pipeline is still usable (only this request failed);
   * false: no pipeline is loaded (the pack failed to load), generation is unavailable.
   */
  recoverable: boolean;
  /**
   * true: a file downloaded on first use (ErrorReply.file) could not be fetched; nothing else was
   * lost, the pack stays loaded and the request can be sent again
   */
  download?: boolean;
  /**
   * true: the WebGPU device was lost during this request; the worker rebuilds the pack on WASM
   * (device, phase, file and ready replies follow) and the request can be sent again
   */
  deviceLost?: boolean;
}

export interface CancelledReply {
  status: 'cancelled';
  id: number;
  /** last denoising step finished when the worker received 'cancel' (absent: before denoising) */
  cancelAtStep?: number;
  /** last denoising step finished when the generation stopped (at most one more than cancelAtStep) */
  stoppedAtStep?: number;
}

export interface DenoiseOnceReply {
  status: 'denoise-once-result';
  id: number;
  backend: Backend;
  /** v-prediction, same layout as the request's sample */
  output: Float32Array;
  /** the encoder_hidden_states used [batch, L, H] (the request's, or the text encoder's) */
  hidden: Float32Array;
  /** milliseconds for encode (if run) + denoise */
  ms: number;
}

/** The reading of read-prompt `id` (domain/prompt-reading.ts says it in words). */
export interface PromptReadingReply {
  status: 'prompt-reading';
  id: number;
  reading: PromptReading;
}

export type WorkerReply =
  | PromptReadingReply
  | DeviceReply
  | FileReply
  | PhaseReply
  | ReadyReply
  | DenoiserReadyReply
  | ProgressReply
  | DoneReply
  | ErrorReply
  | CancelledReply
  | DenoiseOnceReply;

/** Narrow a reply union member by its status (for routers and tests). */
export type ReplyOf<S extends WorkerReply['status']> = Extract<WorkerReply, { status: S }>;
