// Band-limited resampling of a mono waveform by windowed-sinc interpolation (the textbook
// "bandlimited interpolation" of J. O. Smith, as resampy and torchaudio's sinc_interp_hann do):
//
//   y[i] = sum_j x[j] * c * sinc(c * (t_i - j)) * w((t_i - j) / W),   t_i = i * from / to
//
// c = rolloff * min(1, to / from) is the cutoff relative to the input's Nyquist (below the
// output's Nyquist when downsampling, so nothing aliases), w a Hann window of half-width W = zeros / c
// input samples. Why not a library: the page resamples one short clip per user sound, and the
// well-kept ones (libsamplerate-js, speex-resampler-wasm) bring another .wasm to load, precache
// and allow in the Content-Security-Policy for what is 30 lines here.

/** Zero crossings of the sinc on each side, and the fraction of the lower Nyquist kept. */
export interface ResampleOptions {
  zeros?: number;
  rolloff?: number;
}

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

/** x sampled at `from` Hz -> the same sound at `to` Hz, round(x.length * to / from) samples. */
export function resample(x: Float32Array, from: number, to: number, opts: ResampleOptions = {}): Float32Array {
  if (!(from > 0 && to > 0)) throw new RangeError(`sample rates must be positive, got ${from} -> ${to}`);
  if (from === to) return Float32Array.from(x);
  const { zeros = 16, rolloff = 0.95 } = opts;
  const c = rolloff * Math.min(1, to / from);
  const halfWidth = zeros / c; // input samples on each side
  const out = new Float32Array(Math.round((x.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const t = (i * from) / to;
    const lo = Math.max(0, Math.ceil(t - halfWidth));
    const hi = Math.min(x.length - 1, Math.floor(t + halfWidth));
    let acc = 0;
    for (let j = lo; j <= hi; j++) {
      const d = t - j;
      const window = 0.5 + 0.5 * Math.cos((Math.PI * d) / halfWidth);
      acc += x[j]! * c * sinc(c * d) * window;
    }
    out[i] = acc;
  }
  return out;
}
