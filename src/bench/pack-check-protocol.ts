// The pack-check page <-> worker messages (pack-check.html, npm run check:pack-browser), and the
// fixed inputs that the browser and onnxruntime-node both feed, so their outputs can be compared.

export interface PackCheckRequest {
  backend: 'wasm' | 'webgpu';
  /** WASM threads (ORT's numThreads) */
  threads: number;
  /** the pack folder's URL */
  packUrl: string;
  /** latent frames of the denoiser evaluation (the pack's own, or fewer: a shortened latent) */
  frames: number;
}

export interface PackCheckOutputs {
  /** the text encoder's last_hidden_state for checkTokens(), [1, L, H] */
  hidden: Float32Array;
  /** the default denoiser's v at checkSample(frames), timestep CHECK_TIMESTEP, [1, C, frames, F] */
  v: Float32Array;
}

export type PackCheckReply =
  | { type: 'progress'; text: string }
  | {
      type: 'done';
      device: string;
      denoiser: string;
      /** the graph files the load used (the chosen variants), pack-relative, by kind */
      graphs: Array<{ kind: string; file: string }>;
      loadMs: number;
      encodeMs: number;
      denoiseMs: number;
      outputs: PackCheckOutputs;
    }
  | { type: 'error'; message: string };

export const CHECK_TIMESTEP = 500;
/** how many leading tokens of the prompt are real (the rest is padding) */
const CHECK_REAL_TOKENS = 8;

/** A fixed prompt of `maxTokens` ids: 8 real tokens, then padding (mask 0). */
export function checkTokens(maxTokens: number, padId: number): { ids: BigInt64Array; mask: BigInt64Array } {
  const ids = BigInt64Array.from({ length: maxTokens }, (_, i) => BigInt(i < CHECK_REAL_TOKENS ? 100 + 37 * i : padId));
  const mask = BigInt64Array.from({ length: maxTokens }, (_, i) => (i < CHECK_REAL_TOKENS ? 1n : 0n));
  return { ids, mask };
}

/** A fixed latent of `size` values in [-1, 1]. */
export function checkSample(size: number): Float32Array {
  return Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37));
}

/** max |a - b| / max |b|: the comparison's one number (b the reference). */
export function relativeMaxError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`outputs differ in size: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}
