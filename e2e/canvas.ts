// Reading what a <canvas> shows, for the tests of the result pictures.

import type { Locator } from '@playwright/test';

export interface CanvasPixels {
  width: number;
  height: number;
  /** RGBA bytes */
  data: number[];
}

export async function canvasPixels(canvas: Locator): Promise<CanvasPixels> {
  return canvas.evaluate((el: HTMLCanvasElement) => {
    const ctx = el.getContext('2d');
    if (!ctx) throw new Error('canvas has no 2d context');
    const img = ctx.getImageData(0, 0, el.width, el.height);
    return { width: el.width, height: el.height, data: Array.from(img.data) };
  });
}

/** Pixels whose colour differs from the top-left pixel (the background), out of all. */
export function nonBackground(p: CanvasPixels): number {
  const [r, g, b] = p.data;
  let n = 0;
  for (let i = 0; i < p.data.length; i += 4) {
    if (p.data[i] !== r || p.data[i + 1] !== g || p.data[i + 2] !== b) n++;
  }
  return n;
}

/** Number of distinct RGB colours (a drawn spectrogram has many; a blank canvas one). */
export function distinctColours(p: CanvasPixels): number {
  const seen = new Set<number>();
  for (let i = 0; i < p.data.length; i += 4) seen.add((p.data[i]! << 16) | (p.data[i + 1]! << 8) | p.data[i + 2]!);
  return seen.size;
}

/** Mean absolute difference per RGB channel (0..255) between two same-size pictures. */
export function meanAbsDiff(a: CanvasPixels, b: CanvasPixels): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) s += Math.abs(a.data[i + c]! - b.data[i + c]!);
    n += 3;
  }
  return s / n;
}
