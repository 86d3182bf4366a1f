// The domain types of a soundstep-pack/1 model pack: manifest.json as the app reads it once it is
// validated. docs/soundstep-pack-1.schema.json is the contract; these types mirror it field for
// field (src/runtime/pack-schema.test.ts checks that the lists of names below agree with it).

export const PACK_FORMAT = 'soundstep-pack/1';
export const GOLDEN_FORMAT = 'soundstep-golden/1';
export const MANIFEST_FILE = 'manifest.json';
/** The VAE downsamples time and mel axes by 4 each (docs/pack-format.md). */
export const LATENT_DOWNSAMPLE = 4;

export type DistillationMethod = 'bsa' | 'snr-trunc' | 'snr+1' | 'min-snr' | 'eps';
export const DISTILLATION_METHODS: readonly DistillationMethod[] = ['bsa', 'snr-trunc', 'snr+1', 'min-snr', 'eps'];

export interface FactoryInfo {
  /** git sha of the factory, or 'unknown' */
  revision: string;
  /** the config recipe name */
  recipe: string;
  command: string;
}

export interface AudioSpec {
  sample_rate: number;
  clip_seconds: number;
  num_samples: number;
  /** mel frames: num_samples / hop_length */
  frames: number;
  n_mels: number;
  n_fft: number;
  hop_length: number;
  win_length: number;
  window: string;
  f_min: number;
  f_max: number;
  log_floor: number;
}

export interface TextSpec {
  encoder: string;
  tokenizer: string;
  tokenizer_config: string;
  max_tokens: number;
  hidden_size: number;
  pad_token_id: number;
  unconditional_prompt: string;
  /** what the encoder is, in words */
  model: string;
  /** GraphStorage.external_data of the text encoder (optional) */
  encoder_external_data?: string[];
  /** GraphStorage.variants of the text encoder (optional) */
  encoder_variants?: GraphVariant[];
  /** GraphStorage.largest_tensor_bytes of the text encoder (optional) */
  encoder_largest_tensor_bytes?: number;
}

export interface LatentSpec {
  channels: number;
  frames: number;
  bins: number;
  /** diffusion runs on latent * scale; the decoder receives z / scale */
  scale: number;
}

export interface ScheduleSpec {
  num_train_timesteps: number;
  beta_schedule: 'scaled_linear';
  beta_start: number;
  beta_end: number;
  spacing: 'trailing';
  prediction: 'v';
}

export interface ClassifierFreeGuidance {
  type: 'classifier-free';
  default_scale: number;
}
export interface FoldedGuidance {
  type: 'folded';
}
export type GuidanceSpec = ClassifierFreeGuidance | FoldedGuidance;

/** Precisions a graph variant may have; the graph's own `file` is always float32. */
export type VariantDtype = 'float16' | 'int8';
export const VARIANT_DTYPES: readonly VariantDtype[] = ['float16', 'int8'];

/**
 * The same graph computing in another precision, with float32 inputs and outputs, so the
 * pipeline feeds it exactly like the float32 graph (src/runtime/graphs.ts chooses):
 * - float16: float16 weights and arithmetic, on WebGPU when the adapter has shader-f16;
 * - int8: int8 Conv, MatMul and Gemm (QDQ, calibrated), on WASM, whose int8 kernels run it
 *   faster; WebGPU has no QuantizeLinear kernel.
 */
export interface GraphVariant {
  dtype: VariantDtype;
  file: string;
  external_data?: string[];
  /** GraphStorage.largest_tensor_bytes of this variant's file */
  largest_tensor_bytes?: number;
}

/**
 * Optional storage details of one ONNX graph (docs/pack-format.md "External data and
 * variants"). Older packs have neither field; the app then loads `file` alone.
 */
export interface GraphStorage {
  /**
   * ONNX external-data files holding this graph's weights (a graph over protobuf's 2 GB
   * limit must keep them outside), pack-relative, in the graph's folder or below it: the
   * graph refers to them by their path relative to its own folder.
   */
  external_data?: string[];
  /** at most one per dtype */
  variants?: GraphVariant[];
  /**
   * bytes of the float32 file's largest weight tensor: each becomes one WebGPU buffer, so the
   * app compares it with the adapter's maxBufferSize before downloading (src/runtime/capacity.ts)
   */
  largest_tensor_bytes?: number;
}

/** A graph entry of the manifest (vae_encoder, vae_decoder, vocoder). */
export interface GraphFile extends GraphStorage {
  file: string;
}

export interface TeacherDenoiser extends GraphStorage {
  id: string;
  file: string;
  role: 'teacher';
  method: null;
  /** step counts it is shown with (at least one); any N dividing num_train_timesteps works */
  steps: [number, ...number[]];
  guidance: ClassifierFreeGuidance;
  distilled_from: null;
}

export interface StudentDenoiser extends GraphStorage {
  id: string;
  file: string;
  role: 'student';
  method: DistillationMethod;
  /** exactly one entry: the N it was distilled for */
  steps: [number];
  guidance: FoldedGuidance;
  distilled_from: string;
  /** optional: SHA-256 of the teacher graph it was distilled from; not the pack's teacher file's
   * when it comes from an earlier teacher (see studentsOfAnEarlierTeacher) */
  teacher_sha256?: string;
}

export type DenoiserSpec = TeacherDenoiser | StudentDenoiser;

export interface FileEntry {
  bytes: number;
  /** lowercase hex SHA-256 */
  sha256: string;
}

/** One sound the pack knows, with prompts in the wording it was trained on. */
export interface VocabularyEntry {
  /** the factory's source key (piano) */
  key: string;
  /** the sound's name as captions say it (piano) */
  name: string;
  /** music, percussion, effects, speech, synthetic, ... */
  category: string;
  examples: string[];
}

export interface Manifest {
  format: typeof PACK_FORMAT;
  id: string;
  name: string;
  description: string;
  license: string;
  factory: FactoryInfo;
  audio: AudioSpec;
  text: TextSpec;
  latent: LatentSpec;
  schedule: ScheduleSpec;
  denoisers: DenoiserSpec[];
  /**
   * The denoisers[].id the page starts on (the pack's best 25-step student). Optional: absent,
   * the page picks by the same rule (src/domain/default-denoiser.ts).
   */
  default_denoiser?: string;
  /**
   * log_mel [B,1,frames,mels] -> latent [B,C,T,F], the posterior mean times latent.scale (what the
   * denoisers see). Optional: packs exported before it lack it. The factory continues training from
   * a pack with it (from_pack.py); the app does not load it yet (audio-to-audio will).
   */
  vae_encoder?: GraphFile;
  vae_decoder: GraphFile;
  vocoder: GraphFile;
  golden: string | null;
  /** the factory's evaluation table (docs/pack-format.md "metrics"); absent or null: not measured */
  metrics?: MetricsTable | null;
  /** the sounds the pack was trained on (docs/pack-format.md "vocabulary"); absent: not listed */
  vocabulary?: VocabularyEntry[];
  /** every file of the pack except manifest.json, by pack-relative path */
  files: Record<string, FileEntry>;
}

/** A figure over `runs` runs: the mean and the half-width of its Student-t 95% interval (null with one run). */
export interface MetricValue {
  mean: number;
  ci95: number | null;
}

/** The three quality figures of a cell, all measured on one kind of output. */
export interface MetricFigures {
  /** Frechet distance of judge embeddings, generated vs real test clips (lower is better) */
  fad_judge: MetricValue;
  /** Frechet distance of log-mel statistics (lower is better) */
  fd_mel: MetricValue;
  /** fraction (0..1) of clips in which the judge finds every prompted source (higher is better) */
  adherence: MetricValue;
}

/** One cell of the grid: a denoiser at a step count. Its own figures are measured on the final audio. */
export interface MetricsRow extends MetricFigures {
  /** a denoisers[].id of this pack */
  denoiser: string;
  steps: number;
  /** network evaluations per generation (teacher with guidance: 2 * steps; student: steps) */
  nfe: number;
  /**
   * The same figures measured on the VAE decoder's log-mel, before the vocoder. The audio
   * figures include the vocoder's error, which can be large enough to hide the difference
   * between denoisers; these do not. Absent: not measured.
   */
  log_mel?: MetricFigures;
  /** seconds per generation on the factory's machine, if measured */
  seconds?: MetricValue;
  /** what pretrained models nobody here trained hear, per prompt set; absent: not measured */
  ears?: { test?: EarsFigures; free_form?: EarsFigures };
}

/**
 * The independent ears on one prompt set (torchcrepe for pitch, silero-vad for speech), as
 * shares of clips in 0..1; null where the set has no such prompts.
 */
export interface EarsFigures {
  /** prompts times seeds */
  clips: number;
  /** clips with speech, of prompts that name someone speaking (target >= 0.9) */
  speech_when_named: number | null;
  /** clips with speech, of prompts that name no speech (target <= 0.05) */
  speech_when_not: number | null;
  /** clips of in-vocabulary prompts below -35 dBFS RMS (target 0) */
  quiet: number | null;
  /** high/low prompt pairs ordered by pitch (target >= 0.9) */
  pairs_ordered: number | null;
  /** "X followed by <speech>" clips with the speech mostly in the second half (target >= 0.7) */
  speech_second_half: number | null;
}

export interface MetricsTable {
  /** which judge scored the clips, in words (e.g. "judge CNN over log-mel, 5 seeds") */
  judge: string;
  /** runs (sampling seeds) each mean is over, >= 1 */
  runs: number;
  rows: MetricsRow[];
}
