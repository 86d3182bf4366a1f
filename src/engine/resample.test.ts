// The resampler against known sines: a tone below both Nyquists comes out as the same tone at
// the new rate; one above the output's Nyquist is removed, not folded down.
import { describe, expect, it } from 'vitest';
import { resample } from './resample';

const sine = (hz: number, rate: number, seconds: number, phase = 0): Float32Array =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rate + phase));

/** max |a - b| over the samples at least `edge` from either end (the sinc's tails are cut there). */
function interiorError(a: Float32Array, b: Float32Array, edge: number): number {
  let max = 0;
  for (let i = edge; i < Math.min(a.length, b.length) - edge; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const rms = (x: Float32Array, edge: number): number => {
  let s = 0;
  for (let i = edge; i < x.length - edge; i++) s += x[i]! ** 2;
  return Math.sqrt(s / (x.length - 2 * edge));
};

describe('resample', () => {
  it.each([
    [44100, 16000],
    [48000, 16000],
    [22050, 16000],
    [8000, 16000],
  ])('a 1 kHz sine at %i Hz becomes the 1 kHz sine at %i Hz (interior error < 2e-3)', (from, to) => {
    const y = resample(sine(1000, from, 1, 0.3), from, to);
    expect(y.length).toBe(to);
    expect(interiorError(y, sine(1000, to, 1, 0.3), 200)).toBeLessThan(2e-3);
  });

  it('removes a 10 kHz tone when going to 16 kHz (Nyquist 8 kHz) instead of folding it to 6 kHz', () => {
    const y = resample(sine(10000, 44100, 0.5), 44100, 16000);
    expect(rms(y, 200)).toBeLessThan(0.01); // a folded tone would have rms 0.707
  });

  it('copies at the same rate and refuses a rate that is not positive', () => {
    const x = sine(440, 16000, 0.01);
    expect(Array.from(resample(x, 16000, 16000))).toEqual(Array.from(x));
    expect(() => resample(x, 0, 16000)).toThrow(/sample rates must be positive/);
  });
});
