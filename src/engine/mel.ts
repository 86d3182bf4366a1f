// Log-mel spectrogram of a waveform, the same front end as the factory's
// factory/soundstep_factory/mel.py (AudioLDM/Tango log-magnitude mel):
//
//   log_mel[t, m] = ln(max(sum_f W[f, m] * |STFT(x)[f, t]|, log_floor)),   t < samples / hop
//
// STFT: periodic Hann window of win_length centred in n_fft, centre padding by reflection
// (torch.stft center=True, pad_mode="reflect"); W: slaney mel scale with slaney area
// normalisation (librosa / transformers mel_filter_bank). The last frame of the centred STFT is
// dropped so that frames * hop == samples, as the factory does.
//
// Why the page computes it here instead of asking the worker for the VAE decoder's mel: the
// picture must also be drawn for results that come back from IndexedDB (only the WAV is
// stored) and for comparison cells, and it shows what the listener hears (the vocoder's
// output), not what the vocoder was given. One 2.56 s clip is 257 FFTs of 1024: ~2 ms.

/** The manifest's `audio` fields the front end needs (docs/pack-format.md). */
export interface MelConfig {
  sample_rate: number;
  n_fft: number;
  hop_length: number;
  win_length: number;
  n_mels: number;
  f_min: number;
  f_max: number;
  log_floor: number;
}

/** A [frames, mels] log-mel image, row-major (frame t, mel m at t * mels + m). */
export interface LogMel {
  data: Float32Array;
  frames: number;
  mels: number;
}

/** Periodic Hann window w[n] = 0.5 - 0.5 cos(2 pi n / N) (torch.hann_window's default). */
export function hannWindow(length: number): Float64Array {
  const w = new Float64Array(length);
  for (let n = 0; n < length; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
  return w;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/**
 * In-place iterative radix-2 FFT X[k] = sum_n x[n] e^{-2 pi i k n / N} on (re, im);
 * N must be a power of two (magnitudeSpectrum falls back to a plain DFT otherwise).
 */
export function fftInPlace(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (!isPowerOfTwo(n) || im.length !== n) throw new RangeError(`fft needs a power-of-two length, got ${n}`);
  // bit-reversal permutation
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  // butterflies
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = (-2 * Math.PI) / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = Math.cos(step * k);
        const wi = Math.sin(step * k);
        const a = start + k;
        const b = a + half;
        const tr = wr * re[b]! - wi * im[b]!;
        const ti = wr * im[b]! + wi * re[b]!;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
}

/** |X[k]| for k = 0..N/2 of a real frame of length N (radix-2 FFT, or a DFT for other N). */
export function magnitudeSpectrum(frame: Float64Array): Float64Array {
  const n = frame.length;
  const bins = (n >> 1) + 1;
  const out = new Float64Array(bins);
  if (isPowerOfTwo(n)) {
    const re = Float64Array.from(frame);
    const im = new Float64Array(n);
    fftInPlace(re, im);
    for (let k = 0; k < bins; k++) out[k] = Math.hypot(re[k]!, im[k]!);
    return out;
  }
  for (let k = 0; k < bins; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      sr += frame[t]! * Math.cos(a);
      si += frame[t]! * Math.sin(a);
    }
    out[k] = Math.hypot(sr, si);
  }
  return out;
}

/** Reflect index i into 0..n-1 without repeating the edge sample (numpy/torch "reflect"). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/**
 * Magnitude STFT with centre padding: frame t covers samples t*hop - n_fft/2 ... (reflected at
 * the edges), windowed by a periodic Hann of win_length centred in n_fft. Returns
 * [frames, n_fft/2 + 1] row-major with frames = floor(samples / hop) + 1.
 */
export function stftMagnitude(x: Float32Array, nFft: number, hop: number, winLength: number): { data: Float64Array; frames: number; bins: number } {
  if (winLength > nFft) throw new RangeError(`win_length ${winLength} is larger than n_fft ${nFft}`);
  if (x.length === 0) throw new RangeError('stftMagnitude needs at least one sample');
  const window = new Float64Array(nFft);
  const offset = (nFft - winLength) >> 1;
  window.set(hannWindow(winLength), offset);
  const frames = Math.floor(x.length / hop) + 1;
  const bins = (nFft >> 1) + 1;
  const data = new Float64Array(frames * bins);
  const frame = new Float64Array(nFft);
  const pad = nFft >> 1;
  for (let t = 0; t < frames; t++) {
    const start = t * hop - pad;
    for (let n = 0; n < nFft; n++) frame[n] = x[reflect(start + n, x.length)]! * window[n]!;
    data.set(magnitudeSpectrum(frame), t * bins);
  }
  return { data, frames, bins };
}

/** Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above. */
export function hzToMel(hz: number): number {
  const minLogHz = 1000;
  const minLogMel = 15;
  const logStep = 27 / Math.log(6.4);
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) * logStep : (3 * hz) / 200;
}

/** Inverse of hzToMel. */
export function melToHz(mel: number): number {
  const minLogHz = 1000;
  const minLogMel = 15;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : (200 * mel) / 3;
}

/**
 * Triangular mel filters [bins, n_mels] (bins = n_fft/2 + 1), centres equally spaced in
 * slaney mels between f_min and f_max, each scaled by 2 / (its band width in Hz) so that every
 * filter has the same area (slaney norm; transformers' mel_filter_bank, librosa.filters.mel).
 */
export function melFilterbank(sampleRate: number, nFft: number, nMels: number, fMin: number, fMax: number): Float64Array {
  const bins = (nFft >> 1) + 1;
  const lo = hzToMel(fMin);
  const hi = hzToMel(fMax);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (nMels + 1)));
  const w = new Float64Array(bins * nMels);
  for (let f = 0; f < bins; f++) {
    const hz = ((sampleRate / 2) * f) / (bins - 1);
    for (let m = 0; m < nMels; m++) {
      const left = edges[m]!;
      const centre = edges[m + 1]!;
      const right = edges[m + 2]!;
      const down = (hz - left) / (centre - left);
      const up = (right - hz) / (right - centre);
      const tri = Math.max(0, Math.min(down, up));
      w[f * nMels + m] = (tri * 2) / (right - left);
    }
  }
  return w;
}

/** The log-mel spectrogram [frames = samples / hop, n_mels] of a mono waveform (see the top of this file). */
export function logMel(x: Float32Array, cfg: MelConfig): LogMel {
  const { data: mag, frames: stftFrames, bins } = stftMagnitude(x, cfg.n_fft, cfg.hop_length, cfg.win_length);
  const fb = melFilterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max);
  const mels = cfg.n_mels;
  const frames = Math.min(stftFrames, Math.max(1, Math.floor(x.length / cfg.hop_length)));
  const out = new Float32Array(frames * mels);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < mels; m++) {
      let s = 0;
      for (let f = 0; f < bins; f++) s += mag[t * bins + f]! * fb[f * mels + m]!;
      out[t * mels + m] = Math.log(Math.max(s, cfg.log_floor));
    }
  }
  return { data: out, frames, mels };
}
