// Shapes of the app state. Each slice owns one part; the store combines them (index.ts).

import type { Backend, GenerateRequest, Stage } from '../runtime/api';
import type { ManifestSummary } from '../domain/pack-summary';
import type { PromptReading } from '../domain/prompt-reading';
import type { ErrorKind } from '../runtime/errors';
import type { BackendPreference, DoneReply } from '../worker/protocol';
import type { FileSource, LoadPhase, LoadSummary, PrecisionChoice } from '../worker/protocol';
import type { MelConfig } from '../engine/mel';
import type { AbChoice, AbTally } from '../compare/grid';

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'failed';

export interface DeviceInfo {
  backend: Backend;
  /** the worker's sentence, e.g. "WebGPU: no adapter, using WASM (2 threads)" */
  reason: string;
  threads: number;
  crossOriginIsolated: boolean;
}

export interface FileProgress {
  loaded: number;
  /** bytes; 0 when unknown */
  total: number;
  done: boolean;
  /** once done: fetched, or read from the browser cache */
  source?: FileSource;
}

export interface PackState {
  packUrl: string;
  backendPreference: BackendPreference;
  loadStatus: LoadStatus;
  device: DeviceInfo | null;
  /** per pack file, in the order the worker first reported them */
  files: Record<string, FileProgress>;
  manifest: ManifestSummary | null;
  loadMs: number | null;
  /** what the running load does now; null when no load runs */
  loadPhase: LoadPhase | null;
  /** which weights the current (or loading) pack uses, and why */
  precision: PrecisionChoice | null;
  /** how the ready pack was loaded (cache or network, warm-up time); null before ready */
  packLoad: LoadSummary | null;
  /** the ready pack's denoisers not downloaded yet (their first use fetches them): id -> bytes */
  onDemand: Record<string, number>;
}

export interface FormState {
  prompt: string;
  /** what the user had typed before an example prompt replaced it (Undo brings it back); null: nothing to undo */
  promptBefore: string | null;
  /** what guidance steers away from (guided teacher only: the prompt of its unconditional row); '' none */
  negativePrompt: string;
  /** how close a prompt is to what the pack knows (the worker's reading of it); null: none yet */
  promptReading: PromptReading | null;
  /** id of the chosen denoiser; null until a pack is ready, then the pack's default (domain/default-denoiser.ts) */
  denoiserId: string | null;
  /** the student method the user chose, or the default student's: the step slider comes back to it
   * after passing step counts where only another method has a student (bsa-5, bsa-1); null: none yet */
  studentMethod: string | null;
  steps: number;
  seed: number;
  /** false: every Generate draws a new random seed; true: the seed above is kept */
  seedFixed: boolean;
  /** classifier-free guidance scale s for the teacher (students have it folded in) */
  guidanceScale: number;
  /** sounds per Generate, seeds seed, seed + 1, ... */
  variations: number;
  /** clip length in seconds, one of the pack's clipLengths; null: the pack's own clipSeconds */
  seconds: number | null;
}

export interface RunState {
  id: number;
  request: GenerateRequest;
  /** denoising step when Cancel was pressed (null: not cancelling, or before denoising) */
  cancelAtStep?: number | null;
  /** 'cancelling' after the user pressed Cancel, until the worker confirms */
  status: 'running' | 'cancelling';
  /** why it is being stopped when not by Cancel (e.g. another pack is loading), said to the user */
  stopReason?: string;
  stage: Stage | null;
  step: number | null;
  totalSteps: number | null;
  /** a file its denoiser's first use downloads before the stages start (null or absent: none) */
  download?: FileDownload | null;
}

/** A file downloading for a run (FileReply with the run's id). */
export interface FileDownload {
  file: string;
  loaded: number;
  /** bytes; 0 when unknown */
  total: number;
  done: boolean;
}

/** A finished generation: the worker's 'done' reply, with the WAV as a Blob and its object URL. */
export interface GenerationResult extends Omit<DoneReply, 'status' | 'wav' | 'id' | 'pack' | 'latent'> {
  /** its final latent, to regenerate a range of it (absent from results kept before latents were) */
  latent?: Float32Array;
  /** unique key (history key too) */
  key: string;
  /** ms since the epoch */
  createdAt: number;
  /** manifest id of the pack that made it */
  packId: string;
  /** that pack's name and URL (absent from results kept before they were recorded) */
  packName?: string;
  packUrl?: string;
  /** object URL of the WAV blob (revoked when the result goes away) */
  url: string;
  wav: Blob;
  fileName: string;
  bytes: number;
  maxTokens: number | null;
  /** the pack's mel settings, to draw the spectrogram */
  mel: MelConfig;
  /** true when it came back from this browser's history after a reload */
  restored: boolean;
}

/** What the queue of requests in flight is for: variations of one prompt, or the comparison grid. */
export interface JobItem {
  request: GenerateRequest;
  /** the grid cell it fills (kind 'grid') */
  cell?: string;
  /** e.g. "variation 2 of 3" or "bsa · 25 steps" */
  label: string;
}

export interface JobState {
  kind: 'variations' | 'grid';
  /** the pack the job started on (PackState.packUrl then): every request of it is for that pack */
  packUrl?: string;
  items: JobItem[];
  /** index of the item running now */
  index: number;
}

/** How the last cancelled run stopped, so the page can say it stopped within a step. */
export interface CancelInfo {
  /** last denoising step finished when the worker got the cancel (else when Cancel was pressed) */
  requestedAt: number | null;
  /** last denoising step the worker finished */
  stoppedAt: number | null;
  totalSteps: number | null;
  /** items of the job that were never run */
  skipped: number;
  /** why it stopped when not by Cancel (RunState.stopReason) */
  reason?: string;
}

export interface GenerationState {
  run: RunState | null;
  job: JobState | null;
  /** newest first, at most HISTORY_LIMIT */
  results: GenerationResult[];
  /** how the last run ended, for a status line */
  lastOutcome: 'done' | 'cancelled' | 'failed' | null;
  lastCancel: CancelInfo | null;
  /** IndexedDB: 'unavailable' keeps results for this visit only (historyMessage says why) */
  historyStatus: 'opening' | 'ready' | 'unavailable';
  historyMessage: string | null;
}

/** A filled (or filling) cell of the comparison grid. */
export interface GridCellState {
  status: 'queued' | 'running' | 'done' | 'failed';
  result: GenerationResult | null;
}

export interface AbRound {
  /** [A, B] cell keys in the random order the listener hears */
  order: [string, string];
  choice: AbChoice | null;
}

export interface CompareState {
  /** by cell key "<denoiser>@<steps>" */
  grid: Record<string, GridCellState>;
  /** prompt, seed and guidance the grid was filled with (null: never filled) */
  gridFor: { prompt: string; seed: number; guidanceScale: number; packUrl: string } | null;
  ab: AbRound | null;
  abTally: AbTally;
}

export interface AppError {
  /** whose fault it is: the pack, this device, the request, or a cancel (runtime/errors.ts) */
  kind: ErrorKind;
  message: string;
  /** the pack file at fault, when known */
  file?: string;
  during: 'load' | 'generate' | 'denoise-once';
  /** false: no pack is loaded (generation unavailable until a reload) */
  recoverable: boolean;
  /** what Retry runs again: the interrupted item of a job and the ones after it (a lost GPU device) */
  retry?: RetryJob;
}

/** A job to run again from the item that was interrupted. */
export type RetryJob = Pick<JobState, 'kind' | 'items'>;

export interface ErrorState {
  error: AppError | null;
}

export type AppState = PackState & FormState & GenerationState & CompareState & ErrorState;
