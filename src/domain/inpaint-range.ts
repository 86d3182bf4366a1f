// The inpainting request for a time range of a result (docs/sampling.md E21): the range in
// seconds the user chose, mapped onto the latent frames of the pack that made the result, or a
// sentence saying why that result's range cannot be regenerated now.

import { framesOfRange } from '../engine/latent-edit';
import type { InpaintEdit } from '../runtime/api';
import type { ManifestSummary } from './pack-summary';

/** The edit for [fromSec, toSec) of `result`, or the reason there is none. */
export function inpaintEdit(
  result: { latent?: Float32Array; packId: string; numSamples?: number },
  pack: Pick<ManifestSummary, 'id' | 'name' | 'clipSeconds' | 'numSamples' | 'latentFrames'> | null,
  fromSec: number,
  toSec: number,
): { edit: InpaintEdit } | { refusal: string } {
  if (!result.latent) {
    return { refusal: 'This sound was kept before results kept their latent, so a range of it cannot be regenerated; make it again to edit it.' };
  }
  if (!pack || pack.id !== result.packId || pack.latentFrames === undefined) {
    return { refusal: `This sound was made by the pack “${result.packId}”; load that pack again to regenerate a range of it.` };
  }
  const d = pack.clipSeconds;
  if (result.numSamples !== undefined && result.numSamples !== pack.numSamples) {
    // a longer clip's latent is k times the pack's: inpainting works on the pack's own length (Pipeline.clipMultipleFor)
    const seconds = Number(((result.numSamples / pack.numSamples) * d).toFixed(2));
    return { refusal: `Regenerating a range works on sounds of the pack’s own ${d} s; this one is ${seconds} s long.` };
  }
  if (!(fromSec >= 0 && toSec <= d && fromSec < toSec)) {
    return { refusal: `Choose a range inside the sound: “from” before “to”, both between 0 and ${d} s.` };
  }
  const { start, end } = framesOfRange(fromSec, toSec, d, pack.latentFrames);
  return { edit: { kind: 'inpaint', latent: result.latent, startFrame: start, endFrame: end } };
}

/** The seconds a latent frame range covers, for the result line ("0.64–1.28 s"). */
export function rangeSeconds(edit: { startFrame: number; endFrame: number }, frames: number, clipSeconds: number): [number, number] {
  const perFrame = clipSeconds / frames;
  return [Number((edit.startFrame * perFrame).toFixed(2)), Number((edit.endFrame * perFrame).toFixed(2))];
}

/**
 * The range in seconds a drag across the track selects: the two pointer positions as fractions of
 * the track's width (either order, clamped to it), widened outwards to whole latent frames of
 * `frameSeconds` (what inpainting can change) and never less than one frame.
 */
export function rangeFromDrag(startFraction: number, endFraction: number, clipSeconds: number, frameSeconds: number): { from: number; to: number } {
  const clamp = (f: number) => Math.min(1, Math.max(0, f));
  const frames = Math.round(clipSeconds / frameSeconds);
  const [a, b] = [clamp(startFraction), clamp(endFraction)].sort((x, y) => x - y) as [number, number];
  let first = Math.floor(a * frames + 1e-9);
  let last = Math.ceil(b * frames - 1e-9);
  if (last <= first) [first, last] = first >= frames ? [frames - 1, frames] : [first, first + 1];
  const seconds = (frame: number) => Number((frame * frameSeconds).toFixed(2));
  return { from: seconds(first), to: seconds(last) };
}
