// Shapes of the app state. Each slice owns one part; the store combines them (index.ts).

import type { Backend, GenerateRequest, Stage } from '../runtime/api';
import type { BackendPreference, DoneReply, ManifestSummary } from '../worker/protocol';

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
}

export interface FormState {
  prompt: string;
  /** id of the chosen denoiser; null = the pack's teacher once it is known */
  denoiserId: string | null;
  steps: number;
  seed: number;
}

export interface RunState {
  id: number;
  request: GenerateRequest;
  /** 'cancelling' after the user pressed Cancel, until the worker confirms */
  status: 'running' | 'cancelling';
  stage: Stage | null;
  step: number | null;
  totalSteps: number | null;
}

/** A finished generation: the worker's 'done' reply, with the WAV as an object URL. */
export interface GenerationResult extends Omit<DoneReply, 'status' | 'wav'> {
  /** object URL of the WAV blob (revoked when replaced) */
  url: string;
  fileName: string;
  bytes: number;
  maxTokens: number | null;
}

export interface GenerationState {
  run: RunState | null;
  result: GenerationResult | null;
  /** how the last run ended, for a status line */
  lastOutcome: 'done' | 'cancelled' | 'failed' | null;
}

export interface AppError {
  message: string;
  /** the pack file at fault, when known */
  file?: string;
  during: 'load' | 'generate' | 'denoise-once';
  /** false: no pack is loaded (generation unavailable until a reload) */
  recoverable: boolean;
}

export interface ErrorState {
  error: AppError | null;
}

export type AppState = PackState & FormState & GenerationState & ErrorState;
