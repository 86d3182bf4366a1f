// A prompt that names an order ("a phone rings followed by a man talking") sampled in two halves
// (docs/sampling.md E23). The small U-Net hears "X followed by Y" as "X and Y"; blending each
// part's v along time puts X in the first half and Y in the second. Python twin:
// factory/soundstep_factory/time_split.py (same split rule, same weights).

import type { Denoise } from './sample';

/** The sequence word, with an optional comma before it. */
const SEQUENCE = /\s*,?\s*\b(?:followed by|and then|then|before)\b\s*/i;
/** "Y after X" names the same order backwards. */
const AFTER = /\s*,?\s*\bafter\b\s*/i;
const FIRST = /^first\s+/i;
const EDGES = /^[\s,.]+|[\s,.]+$/g;
/** The crossfade's scale in latent frames, as a fraction of the clip (E23: T/16). */
export const CROSSFADE = 1 / 16;

/**
 * [X, Y] for "X followed by Y" / "X, then Y" / "X and then Y" / "first X, then Y" / "X before Y" /
 * "Y after X"; null when no order is named.
 */
export function splitInTime(prompt: string): [string, string] | null {
  const text = prompt.trim();
  const forward = SEQUENCE.exec(text);
  const backward = forward ? null : AFTER.exec(text);
  const match = forward ?? backward;
  if (!match) return null;
  const before = text.slice(0, match.index);
  const after = text.slice(match.index + match[0].length);
  const [firstText, secondText] = forward ? [before, after] : [after, before];
  const first = firstText.replace(EDGES, '').replace(FIRST, '');
  const second = secondText.replace(EDGES, '');
  return first && second ? [first, second] : null;
}

/** w_f of E23 for latent frames f = 0..T-1: 1 -> 0 around the middle. */
export function firstPartWeight(frames: number): Float32Array {
  const w = new Float32Array(frames);
  for (let f = 0; f < frames; f++) w[f] = 1 / (1 + Math.exp(-(frames / 2 - 0.5 - f) / (frames * CROSSFADE)));
  return w;
}

/** One network evaluation on `rows` latent rows with the split's text rows: [X, Y] or [X, Y, unconditional]. */
export type SplitEvaluate = (sample: Float32Array, t: number, rows: 2 | 3) => Promise<Float32Array> | Float32Array;

/**
 * The Denoise of E23 for a latent (C, T, F): each call evaluates both parts on the same z (and the
 * unconditional row once when guided) and returns v_hat (and the unconditional v) in the rows
 * sample() expects.
 */
export function splitDenoise(evaluate: SplitEvaluate, dims: readonly [number, number, number]): Denoise {
  const [C, T, F] = dims;
  const n = C * T * F;
  const w = firstPartWeight(T);
  return async (z, t, rows) => {
    const cond = z.subarray(0, n);
    const input = new Float32Array((rows + 1) * n);
    input.set(cond, 0);
    input.set(cond, n);
    if (rows === 2) input.set(z.subarray(n, 2 * n), 2 * n);
    const v = await evaluate(input, t, rows === 2 ? 3 : 2);
    const out = new Float32Array(rows * n);
    for (let c = 0; c < C; c++) {
      for (let f = 0; f < T; f++) {
        const wf = w[f]!;
        for (let b = 0, i = (c * T + f) * F; b < F; b++, i++) out[i] = wf * v[i]! + (1 - wf) * v[n + i]!;
      }
    }
    if (rows === 2) out.set(v.subarray(2 * n, 3 * n), n);
    return out;
  };
}
