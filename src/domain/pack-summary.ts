// The pack as the page knows it: the domain types the worker sends in its 'ready' reply and
// the store, the comparison grid and the components read. The manifest (runtime/pack-types.ts)
// is the pack's file format; these summaries are what the page needs of it, in its own names.

import type { MelConfig } from '../engine/mel';
import { clipSecondsChoices } from '../runtime/clip-length';
import type { Manifest, MetricsTable, VocabularyEntry } from '../runtime/pack-types';

/** One denoiser of the pack: which step counts it takes and how it is guided. */
export interface DenoiserSummary {
  id: string;
  role: 'teacher' | 'student';
  method: string | null;
  steps: number[];
  guidance: { type: 'classifier-free'; defaultScale: number } | { type: 'folded' };
  /** a student distilled from an earlier teacher than the pack's (its teacher_sha256 names another graph) */
  earlierTeacher?: true;
}

/** The pack as the page needs to know it. */
export interface ManifestSummary {
  id: string;
  name: string;
  description: string;
  license: string;
  sampleRate: number;
  numSamples: number;
  clipSeconds: number;
  maxTokens: number;
  denoisers: DenoiserSummary[];
  /** the mel front end's settings (manifest `audio`), for the page's spectrogram pictures */
  mel: MelConfig;
  /** the factory's evaluation table; null when the pack has none */
  metrics: MetricsTable | null;
  /** the sounds the pack was trained on, for example prompts; [] when the pack does not list them */
  vocabulary: VocabularyEntry[];
  /** the denoiser the manifest says the page starts on (`default_denoiser`); null: the page picks */
  defaultDenoiser: string | null;
  /** latent frames (manifest latent.frames): a time range of a result maps onto these (inpainting) */
  latentFrames?: number;
  /** true when the pack has a VAE encoder, so it can start from a sound (audio-to-audio) */
  vaeEncoder?: boolean;
  /**
   * The clip lengths it makes, in seconds: whole multiples of clipSeconds up to 10.24 s when its
   * graphs take longer latents (runtime/clip-length.ts), else [clipSeconds]. Absent: older workers.
   */
  clipLengths?: number[];
}

/**
 * The ids of the students distilled from an earlier teacher than the pack's: their teacher_sha256
 * is not the SHA-256 of the pack's teacher file (the factory lands a better teacher before it has
 * distilled every weighting from it again). A student without the field is the pack's own.
 */
export function studentsOfAnEarlierTeacher(m: Manifest): string[] {
  const teacher = m.denoisers.find((d) => d.role === 'teacher');
  const current = teacher ? m.files[teacher.file]?.sha256 : undefined;
  return m.denoisers.flatMap((d) =>
    d.role === 'student' && d.teacher_sha256 !== undefined && d.teacher_sha256 !== current ? [d.id] : [],
  );
}

/**
 * The summary of a validated manifest; `longClips`: whether the loaded graphs take longer latents
 * (Pipeline.longClips: a fact of the graphs, not of the manifest).
 */
export function summarizeManifest(m: Manifest, longClips = false): ManifestSummary {
  const earlier = new Set(studentsOfAnEarlierTeacher(m));
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
      ...(earlier.has(d.id) ? { earlierTeacher: true as const } : {}),
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
    vocabulary: (m.vocabulary ?? []).map((v) => ({ ...v, examples: [...v.examples] })),
    defaultDenoiser: m.default_denoiser ?? null,
    latentFrames: m.latent.frames,
    vaeEncoder: m.vae_encoder !== undefined,
    clipLengths: clipSecondsChoices(m.audio.clip_seconds, longClips),
  };
}
