// Request checks: a generation request, or one denoiser evaluation's inputs, against the pack.
// Every refusal is an InputError (kind 'input') saying what is wrong, by name and shape.

import { stepsRefusal } from '../engine/steps';
import { splitInTime } from '../engine/time-split';
import type { GenerateRequest, LatentEdit } from './api';
import { maxClipMultiple } from './clip-length';
import { InputError } from './errors';
import { findDenoiser, type DenoiserSpec, type Manifest } from './manifest';
import { rowLength } from './tensors';

/** The denoiser a request names, once the request fits it (steps, guidance scale, seed). */
export function checkRequest(m: Manifest, req: GenerateRequest): DenoiserSpec {
  const d = findDenoiser(m, req.denoiserId);
  const refusal = stepsRefusal(d, req.steps, m.schedule.num_train_timesteps);
  if (refusal !== null) throw new InputError(refusal);
  if (d.role === 'teacher' && !Number.isFinite(req.guidanceScale)) {
    throw new InputError(`guidanceScale must be a finite number, got ${req.guidanceScale}`);
  }
  if (!Number.isSafeInteger(req.seed) || req.seed < 0) throw new InputError(`seed must be an integer >= 0, got ${req.seed}`);
  if (req.negativePrompt !== undefined && typeof req.negativePrompt !== 'string') {
    throw new InputError(`negativePrompt must be a string, got ${typeof req.negativePrompt}`);
  }
  if (req.edit) checkEdit(m, req.edit);
  return d;
}

/** An inpainting or audio-to-audio edit against the pack (sizes, range, strength, encoder). */
function checkEdit(m: Manifest, edit: LatentEdit): void {
  const { channels: C, frames: T, bins: F } = m.latent;
  if (edit.kind === 'inpaint') {
    if (!(edit.latent instanceof Float32Array) || edit.latent.length !== C * T * F) {
      throw new InputError(`the latent to inpaint has ${edit.latent?.length} values, this pack's latent is [${C}, ${T}, ${F}]: inpaint a result of this pack`);
    }
    const { startFrame: a, endFrame: b } = edit;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > T || a >= b) {
      throw new InputError(`the range to regenerate is latent frames ${a}..${b}; it must lie inside 0..${T} and not be empty`);
    }
    return;
  }
  if (!m.vae_encoder) {
    throw new InputError('this pack has no VAE encoder (vae_encoder), so it cannot start from a sound; load a pack that has one');
  }
  const n = m.audio.num_samples;
  if (!(edit.waveform instanceof Float32Array) || edit.waveform.length !== n) {
    throw new InputError(`the sound to start from has ${edit.waveform?.length} samples; the pack needs ${n} (${m.audio.clip_seconds} s at ${m.audio.sample_rate} Hz)`);
  }
  if (!(edit.strength >= 0 && edit.strength <= 1)) throw new InputError(`strength must be between 0 and 1, got ${edit.strength}`);
}

/** The prompt of the unconditional row of classifier-free guidance: the negative prompt, else the pack's unconditional prompt. */
export function unconditionalPrompt(m: Manifest, req: GenerateRequest): string {
  const negative = req.negativePrompt ?? '';
  return negative.trim() === '' ? m.text.unconditional_prompt : negative;
}

/**
 * The text rows of a generation, in order: the prompt, or its two parts when it names an order
 * (E23: `halves`); then, for a guided teacher, the unconditional prompt.
 */
export function textRows(m: Manifest, req: GenerateRequest, guided: boolean): { prompts: string[]; halves: [string, string] | null } {
  const halves = req.splitInTime === false ? null : splitInTime(req.prompt);
  const conditional = halves ?? [req.prompt];
  return { prompts: guided ? [...conditional, unconditionalPrompt(m, req)] : conditional, halves };
}

/** Inputs of one denoiser evaluation, flattened (shapes in Pipeline.denoiseOnce). */
export interface DenoiseInputs {
  sample: Float32Array;
  timestep: number;
  hidden: Float32Array;
  mask: BigInt64Array;
  batch: number;
}

/** Checks the inputs' sizes against the manifest and returns the text length L. */
export function checkDenoiseInputs(m: Manifest, x: DenoiseInputs): number {
  const { channels: C, frames: T, bins: F } = m.latent;
  const H = m.text.hidden_size;
  const L = rowLength(x.mask.length, x.batch, 'encoder_attention_mask');
  const k = x.sample.length / (x.batch * C * T * F); // a clip k times the pack's length (clip-length.ts)
  if (!Number.isInteger(k) || k < 1 || k > maxClipMultiple(m)) {
    throw new InputError(`sample has ${x.sample.length} values, expected batch ${x.batch} x [${C}, ${T}, ${F}] (or a whole multiple of ${T} frames)`);
  }
  if (x.hidden.length !== x.batch * L * H) {
    throw new InputError(`encoder_hidden_states has ${x.hidden.length} values, expected [${x.batch}, ${L}, ${H}]`);
  }
  const T_train = m.schedule.num_train_timesteps;
  if (!Number.isInteger(x.timestep) || x.timestep < 0 || x.timestep >= T_train) {
    throw new InputError(`timestep ${x.timestep} is outside 0..${T_train - 1}`);
  }
  return L;
}

/** Checks a latent's size against the manifest (decodeLatent's input). */
export function checkLatent(m: Manifest, z: Float32Array): void {
  const { channels: C, frames: T, bins: F } = m.latent;
  const k = z.length / (C * T * F); // a clip k times the pack's length (clip-length.ts)
  if (!Number.isInteger(k) || k < 1 || k > maxClipMultiple(m)) {
    throw new InputError(`latent has ${z.length} values, expected [${C}, ${T}, ${F}] (or a whole multiple of ${T} frames)`);
  }
}
