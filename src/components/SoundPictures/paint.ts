// Drawing a result on a canvas: its samples from the WAV, and the waveform outline scaled to the
// clip's peak. Used by the result's pictures and by the range editor's track.

import { parseWav } from '../../engine/wav';
import { waveformEnvelope } from './draw';

/** Canvas pixel sizes (CSS scales them to the card's width). */
export const WAVE_W = 600;
export const WAVE_H = 80;

/** The mono samples of a WAV blob. */
export async function samplesOf(wav: Blob): Promise<Float32Array> {
  return parseWav(new Uint8Array(await wav.arrayBuffer())).samples;
}

export function drawWaveform(canvas: HTMLCanvasElement, x: Float32Array): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { min, max } = waveformEnvelope(x, WAVE_W);
  const style = getComputedStyle(canvas);
  ctx.clearRect(0, 0, WAVE_W, WAVE_H);
  ctx.fillStyle = style.getPropertyValue('--wave-bg').trim() || '#eef1f6';
  ctx.fillRect(0, 0, WAVE_W, WAVE_H);
  ctx.fillStyle = style.getPropertyValue('--wave-fg').trim() || '#3352d6';
  // scaled to the clip's peak (generated clips are often quiet); silence stays flat
  let peak = 0.05;
  for (let c = 0; c < WAVE_W; c++) peak = Math.max(peak, Math.abs(min[c]!), Math.abs(max[c]!));
  const mid = WAVE_H / 2;
  const k = (mid - 1) / peak;
  for (let c = 0; c < WAVE_W; c++) {
    const top = mid - max[c]! * k;
    const bottom = mid - min[c]! * k;
    ctx.fillRect(c, top, 1, Math.max(1, bottom - top));
  }
}
