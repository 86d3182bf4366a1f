// Request checks: a generation request, or one denoiser evaluation's inputs, against the pack.
// Every refusal is an InputError (kind 'input') saying what is wrong, by name and shape.

import { stepsRefusal } from '../engine/steps';
import type { GenerateRequest } from './api';
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
  return d;
}

/** The prompt of the unconditional row of classifier-free guidance: the negative prompt, else the pack's unconditional prompt. */
export function unconditionalPrompt(m: Manifest, req: GenerateRequest): string {
  const negative = req.negativePrompt ?? '';
  return negative.trim() === '' ? m.text.unconditional_prompt : negative;
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
  if (x.sample.length !== x.batch * C * T * F) {
    throw new InputError(`sample has ${x.sample.length} values, expected batch ${x.batch} x [${C}, ${T}, ${F}]`);
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
  if (z.length !== C * T * F) throw new InputError(`latent has ${z.length} values, expected [${C}, ${T}, ${F}]`);
}
