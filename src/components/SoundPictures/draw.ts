// Pure helpers for the result pictures: a waveform envelope per pixel column and a log-mel image.
// No DOM here, so they are unit-tested in Node; index.tsx puts them on canvases.

import type { LogMel } from '../../engine/mel';

/** Min and max sample of each of `columns` equal slices of x (the classic waveform outline). */
export function waveformEnvelope(x: Float32Array, columns: number): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(columns);
  const max = new Float32Array(columns);
  for (let c = 0; c < columns; c++) {
    const from = Math.floor((c * x.length) / columns);
    const to = Math.max(from + 1, Math.floor(((c + 1) * x.length) / columns));
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = from; i < to && i < x.length; i++) {
      const v = x[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    min[c] = Number.isFinite(lo) ? lo : 0;
    max[c] = Number.isFinite(hi) ? hi : 0;
  }
  return { min, max };
}

/** Colour stops (dark blue -> purple -> orange -> pale yellow): dark is quiet, bright is loud. */
const STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [10, 12, 40],
  [70, 20, 110],
  [170, 45, 100],
  [240, 120, 40],
  [252, 240, 160],
];

/** RGB for t in [0, 1] by linear interpolation between the stops. */
export function colormap(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/**
 * RGBA pixels [mels rows, frames columns] of a log-mel: time left to right, low mels at the
 * bottom; values from (max - range) to max (natural log units: 8 is about 70 dB) map to 0..1.
 */
export function melImage(mel: LogMel, range = 8): Uint8ClampedArray<ArrayBuffer> {
  const { data, frames, mels } = mel;
  if (data.length !== frames * mels) throw new RangeError(`a log-mel of ${data.length} values is not [${frames}, ${mels}]`);
  let top = -Infinity;
  for (const v of data) if (v > top) top = v;
  const px = new Uint8ClampedArray(frames * mels * 4);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < mels; m++) {
      const [r, g, b] = colormap((data[t * mels + m]! - (top - range)) / range);
      const o = ((mels - 1 - m) * frames + t) * 4;
      px[o] = r;
      px[o + 1] = g;
      px[o + 2] = b;
      px[o + 3] = 255;
    }
  }
  return px;
}
