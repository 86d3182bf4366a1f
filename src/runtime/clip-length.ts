// Clip length: the U-Net, the VAE decoder and the vocoder are convolutional in time, so a pack
// trained on clip_seconds (2.56 s) clips also makes clips of k times its length, from a latent k
// times as long, when its graphs declare their time axis free (factory/soundstep_factory/
// time_axis.py; ONNX Runtime refuses any other length than a fixed declared one). Up to 10.24 s,
// Tango's clip length: docs/results.md says what quality the longer latents keep.

import { InputError } from './errors';
import type { Graph } from './graph-io';
import type { Manifest } from './manifest';

/** The longest clip offered: Tango's 10.24 s. */
export const MAX_CLIP_SECONDS = 10.24;

/** The largest k for which k clips of the pack's length fit in MAX_CLIP_SECONDS. */
export const maxClipMultiple = (m: Manifest): number => Math.max(1, Math.floor(MAX_CLIP_SECONDS / m.audio.clip_seconds + 1e-9));

/** The lengths a pack offers, in seconds: every whole multiple of its clip up to MAX_CLIP_SECONDS. */
export function clipSecondsChoices(clipSeconds: number, timeAxisFree: boolean): number[] {
  const max = timeAxisFree ? Math.max(1, Math.floor(MAX_CLIP_SECONDS / clipSeconds + 1e-9)) : 1;
  return Array.from({ length: max }, (_, i) => Math.round((i + 1) * clipSeconds * 100) / 100);
}

/**
 * k for a request's `seconds` (absent: 1, the pack's own length): a whole multiple of
 * audio.clip_seconds from 1 to maxClipMultiple, else an InputError that says which lengths work.
 */
export function clipMultiple(m: Manifest, seconds: number | undefined): number {
  if (seconds === undefined) return 1;
  const clip = m.audio.clip_seconds;
  const k = Math.round(seconds / clip);
  if (!Number.isFinite(seconds) || k < 1 || Math.abs(k * clip - seconds) > 1e-6 || k > maxClipMultiple(m)) {
    const choices = clipSecondsChoices(clip, true).join(', ');
    throw new InputError(`a clip of ${seconds} s cannot be made: this pack makes clips of ${choices} s (whole multiples of its ${clip} s)`);
  }
  return k;
}

/**
 * The frames along an axis of a tensor of `values` values whose other axes hold `perFrame`
 * values, checked to be k times the pack's `frames` for a k this pack allows.
 */
export function framesOf(m: Manifest, values: number, perFrame: number, frames: number, what: string): number {
  const n = values / perFrame;
  const k = n / frames;
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 1 || k > maxClipMultiple(m)) {
    throw new InputError(`${what} has ${values} values: expected ${perFrame} per frame times ${frames} frames (or a whole multiple up to ${maxClipMultiple(m)}x)`);
  }
  return n;
}

/** The time axis of each graph input that has one: [input name, axis]. */
const TIME_AXIS: Record<string, number> = { sample: 2, latent: 2, log_mel: 2 };

/**
 * Whether a graph declares the time axis of its inputs free (a symbolic dimension, or one the
 * runtime does not report); a fixed number means ONNX Runtime accepts that length only.
 */
export function timeAxisFree(graph: Graph): boolean {
  return (graph.session.inputMetadata ?? []).every((v) => {
    const axis = TIME_AXIS[v.name];
    const shape = (v as { shape?: ReadonlyArray<number | string> }).shape; // tensors' dims, where the runtime says
    return axis === undefined || !v.isTensor || typeof shape?.[axis] !== 'number';
  });
}
