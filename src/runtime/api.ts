// The pipeline's public surface: what the worker (browser) and the CLI (Node) call.
// Implemented in src/runtime/pipeline.ts over the pure math in src/engine/.

import type { FileEvent } from './pack';

/** The five stages of one generation, in order (STYLE.md: a pipeline reads as numbered stages). */
export type Stage = 'tokenize' | 'encode' | 'denoise' | 'decode' | 'vocode';
export const STAGES: readonly Stage[] = ['tokenize', 'encode', 'denoise', 'decode', 'vocode'];

/** Where ONNX runs: WebGPU when an adapter exists, WASM otherwise; 'cpu' is onnxruntime-node. */
export type Backend = 'webgpu' | 'wasm' | 'cpu';

export interface GenerateRequest {
  prompt: string;
  /** id of an entry of manifest.denoisers */
  denoiserId: string;
  /** sampling steps N: any divisor of 1000 for a teacher, the student's own N for a student */
  steps: number;
  /** classifier-free guidance scale s (teacher only; ignored for students) */
  guidanceScale: number;
  /**
   * Negative prompt (guided teacher only): it replaces the pack's unconditional prompt (text.
   * unconditional_prompt, "") in the unconditional row of classifier-free guidance, so guidance
   * steers away from it. Absent or blank: the unconditional prompt. Ignored by students: their
   * guidance is folded into their weights, there is no unconditional row.
   */
  negativePrompt?: string;
  /** seeds the Gaussian noise z at tau_0 */
  seed: number;
  /**
   * Clip length in seconds: a whole multiple of the pack's audio.clip_seconds up to 10.24 s, for
   * packs whose graphs take longer latents (runtime/clip-length.ts). Absent: the pack's own length.
   */
  seconds?: number;
  /** start from a latent instead of pure noise: inpaint a result's range, or start from a sound */
  edit?: LatentEdit;
  /**
   * A prompt that names an order ("X followed by Y", "X, then Y", "Y after X") is sampled in two halves, X in
   * the first and Y in the second (docs/sampling.md E23; costs one more evaluation per step).
   * Absent or true: on; false: the whole prompt at once.
   */
  splitInTime?: boolean;
}

/**
 * Inpainting (docs/sampling.md E21): regenerate latent frames [startFrame, endFrame) of `latent`
 * (a result's own final latent, [C, T, F] flattened) and keep every other frame.
 */
export interface InpaintEdit {
  kind: 'inpaint';
  latent: Float32Array;
  startFrame: number;
  endFrame: number;
}

/**
 * Audio-to-audio (SDEdit, docs/sampling.md E22): `waveform` (mono, audio.sample_rate,
 * audio.num_samples long) is encoded by the pack's VAE encoder, noised to `strength` in [0, 1]
 * (0: the sound as is, 1: ignored) and denoised toward the prompt.
 */
export interface AudioEdit {
  kind: 'audio';
  waveform: Float32Array;
  strength: number;
}

export type LatentEdit = InpaintEdit | AudioEdit;

/**
 * Reported as each stage starts; stage 'denoise' reports step 0 when it starts and then each
 * finished step, so `step` runs 0, 1, ..., totalSteps.
 */
export interface Progress {
  stage: Stage;
  /** denoising step just finished (1-based; 0 = none yet) and the total, only for stage 'denoise' */
  step?: number;
  totalSteps?: number;
}

export interface GenerateResult {
  /** mono float32 samples in [-1, 1] */
  waveform: Float32Array;
  sampleRate: number;
  /** milliseconds spent in each stage */
  timings: Record<Stage, number>;
  /** denoiser network evaluations (batch rows count one each: a guided step is 2) */
  networkEvaluations: number;
  /** true when the prompt had more tokens than text.max_tokens and was cut */
  truncated: boolean;
  tokenCount: number;
  /** the final latent z [C, T, F] (scaled like the denoisers' x), kept so the result can be inpainted */
  latent: Float32Array;
  /** the two parts when the prompt was sampled in two halves (E23), first then second */
  timeSplit?: [string, string];
}

export interface GenerateOptions {
  onProgress?: (p: Progress) => void;
  /** aborting stops the generation after the current network evaluation, or its download */
  signal?: AbortSignal;
  /** download progress of a denoiser (or VAE encoder) loaded on first use by this generation */
  onFile?: (e: FileEvent) => void;
}
