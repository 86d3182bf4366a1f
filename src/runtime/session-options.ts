// Session options per graph. One rule so far: a big graph keeps its weights as stored.
//
// The factory may store weights as int8 (or float16) restored to float32 by Cast and Mul nodes on
// constants (docs/pack-format.md "Weight storage"). ONNX Runtime's constant folding turns those
// into float32 initializers when the session is created: faster runs, but 4x (2x) the memory.
// For the small pack that is a few MB; for the Tango-size U-Net (869 MB of int8) it is 3.46 GB,
// which WASM's 4 GiB cannot hold: session creation fails with std::bad_alloc (measured,
// docs/tango.md "In the browser"). The WebGPU build folds in the same wasm32 heap before it
// uploads the weights, and failed the same way ("failed to allocate a buffer of size 869068016"
// after the folded text encoder). Without folding, the weights stay as stored and each run
// restores each layer's weights as it needs them, so the file's bytes are what the session holds
// (what src/runtime/capacity.ts counts).

/** Graph files above this size are loaded without constant folding (WASM and WebGPU builds alike). */
export const WASM_UNFOLDED_FILE_BYTES = 256 * 2 ** 20;

/** ONNX Runtime's session config entry that names optimizers to skip (flattened from `extra`). */
const SKIP_CONSTANT_FOLDING = { optimization: { disable_specified_optimizers: 'ConstantFolding' } } as const;

export interface SessionOptionsLike {
  extra?: Record<string, unknown>;
  [option: string]: unknown;
}

/**
 * Whether a graph of `fileBytes` (graph file plus its external data) keeps its stored weights:
 * on both onnxruntime-web builds (their heap is wasm32), not on onnxruntime-node ('cpu').
 */
export function keepsStoredWeights(backend: string, fileBytes: number): boolean {
  return (backend === 'wasm' || backend === 'webgpu') && fileBytes > WASM_UNFOLDED_FILE_BYTES;
}

/** `base` for a graph of `fileBytes` on `backend`: constant folding off where keepsStoredWeights says so. */
export function graphSessionOptions<T extends SessionOptionsLike>(base: T, backend: string, fileBytes: number): T {
  if (!keepsStoredWeights(backend, fileBytes)) return base;
  return { ...base, extra: { ...base.extra, ...SKIP_CONSTANT_FOLDING } };
}
