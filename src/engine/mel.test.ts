import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fftInPlace, hannWindow, hzToMel, logMel, magnitudeSpectrum, melFilterbank, melToHz, stftMagnitude, type MelConfig } from './mel';

interface MelGolden {
  audio: MelConfig;
  waveform: number[];
  frames: number;
  n_mels: number;
  log_mel: number[];
}
const golden = JSON.parse(readFileSync(new URL('./testdata/mel-golden.json', import.meta.url), 'utf8')) as MelGolden;

const sine = (hz: number, sr: number, n: number, amp = 1): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / sr));

const argmax = (xs: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
};

describe('fft', () => {
  it('matches a direct DFT on a small random signal', () => {
    const n = 16;
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) + (i % 3) * 0.25);
    const re = Float64Array.from(x);
    const im = new Float64Array(n);
    fftInPlace(re, im);
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        sr += x[t]! * Math.cos((-2 * Math.PI * k * t) / n);
        si += x[t]! * Math.sin((-2 * Math.PI * k * t) / n);
      }
      expect(re[k]).toBeCloseTo(sr, 10);
      expect(im[k]).toBeCloseTo(si, 10);
    }
  });

  it('puts a bin-centred sine in its bin with magnitude N/2, and a non-power-of-two DFT agrees', () => {
    const frame = Float64Array.from({ length: 64 }, (_, i) => Math.cos((2 * Math.PI * 5 * i) / 64));
    const mag = magnitudeSpectrum(frame);
    expect(mag).toHaveLength(33);
    expect(argmax(mag)).toBe(5);
    expect(mag[5]).toBeCloseTo(32, 9);
    expect(mag[4]).toBeCloseTo(0, 9);
    const odd = Float64Array.from({ length: 24 }, (_, i) => Math.cos((2 * Math.PI * 3 * i) / 24));
    const m2 = magnitudeSpectrum(odd);
    expect(argmax(m2)).toBe(3);
    expect(m2[3]).toBeCloseTo(12, 9);
  });

  it('refuses a length that is not a power of two', () => {
    expect(() => fftInPlace(new Float64Array(12), new Float64Array(12))).toThrow(/power-of-two/);
  });
});

describe('stft and mel filters', () => {
  it('periodic hann: w[0] = 0, w[N/2] = 1', () => {
    const w = hannWindow(8);
    expect(w[0]).toBe(0);
    expect(w[4]).toBeCloseTo(1, 12);
    expect(w[2]).toBeCloseTo(0.5, 12);
  });

  it('a 1 kHz sine peaks at STFT bin 1000 / (16000 / 1024) = 64 in every frame', () => {
    const { data, frames, bins } = stftMagnitude(sine(1000, 16000, 3200), 1024, 160, 1024);
    expect(frames).toBe(21); // floor(3200 / 160) + 1
    expect(bins).toBe(513);
    for (let t = 3; t < frames - 3; t++) expect(argmax(data.subarray(t * bins, (t + 1) * bins))).toBe(64);
  });

  it('slaney mel scale: linear to 1 kHz (15 mels), log above, and inverts', () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 12);
    expect(hzToMel(200)).toBeCloseTo(3, 12);
    expect(hzToMel(6400)).toBeCloseTo(15 + 27, 10);
    for (const hz of [0, 440, 999, 1000, 3000, 8000]) expect(melToHz(hzToMel(hz))).toBeCloseTo(hz, 8);
  });

  it('filters are non-negative, each covers some bins, and each has area ~ 2 / sr-spacing (slaney norm)', () => {
    const fb = melFilterbank(16000, 1024, 64, 0, 8000);
    expect(fb).toHaveLength(513 * 64);
    for (let m = 0; m < 64; m++) {
      let area = 0;
      for (let f = 0; f < 513; f++) {
        expect(fb[f * 64 + m]).toBeGreaterThanOrEqual(0);
        area += fb[f * 64 + m]! * (8000 / 512);
      }
      // triangle of height 2/(right-left) over (right-left) Hz has area 1 (sampled at 15.6 Hz)
      if (m >= 8) expect(area).toBeCloseTo(1, 1);
      expect(area).toBeGreaterThan(0);
    }
  });
});

describe('logMel', () => {
  it('matches the factory MelFrontEnd (golden, scripts/golden-mel.py) to 1e-3', () => {
    const out = logMel(Float32Array.from(golden.waveform), golden.audio);
    expect(out.frames).toBe(golden.frames);
    expect(out.mels).toBe(golden.n_mels);
    let maxErr = 0;
    for (let i = 0; i < out.data.length; i++) maxErr = Math.max(maxErr, Math.abs(out.data[i]! - golden.log_mel[i]!));
    expect(maxErr).toBeLessThan(1e-3);
  });

  it('a 2 kHz sine is loudest in the mel band around 2 kHz; silence sits at ln(log_floor)', () => {
    const cfg = golden.audio;
    const out = logMel(sine(2000, 16000, 4000, 0.5), cfg);
    expect(out.frames).toBe(25);
    const row = out.data.subarray(12 * 64, 13 * 64);
    const m = argmax(row);
    const fb = melFilterbank(16000, 1024, 64, 0, 8000);
    // the band whose filter weighs bin 128 (2000 Hz) the most
    expect(m).toBe(argmax(Array.from({ length: 64 }, (_, k) => fb[128 * 64 + k]!)));
    const quiet = logMel(new Float32Array(1600), cfg);
    expect(quiet.frames).toBe(10);
    for (const v of quiet.data) expect(v).toBeCloseTo(Math.log(cfg.log_floor), 5);
  });
});
