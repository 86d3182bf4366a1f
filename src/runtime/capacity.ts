// Before a byte of a pack is fetched: will the graphs loaded at once fit this device, and the
// download fit the storage the browser gives this site? Pure functions over the manifest's sizes
// (manifest.files bytes, graphs' largest_tensor_bytes) and the device's limits; the worker
// (src/worker/pack-loader.ts) stops a load that cannot fit and says why, in words, before fetching.
//
//   check           limit                                       from
//   WASM memory     4 GiB address space (wasm32)                weights of the graphs loaded at once + WASM_WORKING_MARGIN
//   WebGPU buffers  min(maxBufferSize, maxStorageBufferBindingSize)   each graph's largest weight tensor (one GPU buffer each)
//   storage         navigator.storage.estimate() quota - usage  bytes still to download (cached files excluded)

import { formatBytes } from '../components/PackStatus/pack-url';
import { chooseSource, filesToLoad, sourceBytes, type GraphSource, type PackGraph, type PrecisionChoice, type WeightDtype } from './graphs';
import type { Manifest } from './manifest';

/** wasm32 addresses 2^32 bytes: ORT-web's heap (weights, activations, arena) can never grow past it. */
export const WASM_ADDRESS_SPACE = 2 ** 32;
/**
 * Room kept for everything that is not weights: activations, ORT's arena and the copy of a
 * graph's protobuf while its session is created. 1 GiB because the Tango-size U-Net's first
 * attention at guidance batch 2 holds 2 x 5 heads x 4096^2 float32 scores (671 MB) and its
 * softmax output at once; the small pack needs a few MB.
 */
export const WASM_WORKING_MARGIN = 2 ** 30;

/** The GPUSupportedLimits we compare with (GPUAdapter.limits). */
export interface GpuBufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** navigator.storage.estimate()'s answer (either field may be missing). */
export interface StorageRoom {
  quota?: number;
  usage?: number;
}

export interface CapacityInput {
  manifest: Manifest;
  /** the graphs loaded at once (pipeline-load.ts upFrontGraphs) */
  graphs: readonly PackGraph[];
  backend: 'webgpu' | 'wasm';
  /** what selectPrecision chose; this check may move a WebGPU load to float16 */
  precision: PrecisionChoice;
  /** the WebGPU adapter has shader-f16 (float16 variants can run) */
  shaderF16: boolean;
  /** the adapter's limits (WebGPU); null: unknown, not checked */
  limits: GpuBufferLimits | null;
  /** null: no estimate, not checked (the store's QuotaExceededError still tells) */
  storage: StorageRoom | null;
  /** files already in the browser's cache (they are not downloaded again) */
  cached: ReadonlySet<string>;
}

export interface CapacityPlan {
  /** false: the load stops before fetching; `problem` says why and what to do */
  fits: boolean;
  /** the precision to load: the one chosen, or float16 where float32 does not fit the GPU's buffers */
  precision: PrecisionChoice;
  problem: string | null;
  /** the download does not fit the storage left: loaded, but not kept offline (null: it fits, or unknown) */
  storage: string | null;
  /** bytes of the graphs loaded at once at `precision`, and still to download */
  weightBytes: number;
  downloadBytes: number;
}

/** The graph sources loaded at once at `dtype`. */
export function sourcesAt(graphs: readonly PackGraph[], dtype: WeightDtype): GraphSource[] {
  return graphs.map((g) => chooseSource(g, dtype));
}

/** Bytes of `sources`' files (graph and external data), as manifest.files lists them. */
export function weightBytes(m: Manifest, sources: readonly GraphSource[]): number {
  return sources.reduce((n, s) => n + sourceBytes(m, s), 0);
}

/** Bytes to download for `sources`: every file the load fetches (filesToLoad) that is not cached. */
export function downloadBytes(m: Manifest, sources: readonly GraphSource[], cached: ReadonlySet<string>): number {
  return filesToLoad(m, sources)
    .filter((f) => !cached.has(f))
    .reduce((n, f) => n + (m.files[f]?.bytes ?? 0), 0);
}

/** The largest buffer a WebGPU binding can have on this adapter. */
export function bufferLimit(limits: GpuBufferLimits): number {
  return Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
}

/** The sources whose largest tensor (when the manifest gives it) exceeds `limit`. */
export function tooLargeForBuffers(sources: readonly GraphSource[], limit: number): GraphSource[] {
  return sources.filter((s) => (s.largestTensorBytes ?? 0) > limit);
}

/** Why WASM cannot hold `weights` bytes of graphs, in words, with what to do instead. */
export function wasmTooSmall(weights: number, float16Weights: number | null): string {
  const need = formatBytes(weights + WASM_WORKING_MARGIN);
  const then = float16Weights === null ? '' : ` (there its float16 weights, ${formatBytes(float16Weights)}, load instead)`;
  return (
    `This pack needs ${need} of memory at once (${formatBytes(weights)} of weights for the graphs it loads together, plus a ` +
    `${formatBytes(WASM_WORKING_MARGIN)} working margin), and WASM holds 4.3 GB (4 GiB). Nothing was downloaded. ` +
    `Use a browser and device with WebGPU${then}, or a smaller pack.`
  );
}

/** Why a graph's largest tensor does not fit one WebGPU buffer, in words. */
export function buffersTooSmall(over: readonly GraphSource[], limit: number): string {
  const list = over.map((s) => `${s.file} (${formatBytes(s.largestTensorBytes ?? 0)})`).join(', ');
  return (
    `The largest weight tensor of ${list} does not fit in one buffer of this WebGPU adapter (at most ${formatBytes(limit)}: ` +
    `maxBufferSize and maxStorageBufferBindingSize). Nothing was downloaded. Use a GPU with larger buffer limits, or choose WASM.`
  );
}

/** The storage note: the download does not fit in what is left of the quota. */
export function storageTooSmall(download: number, room: Required<StorageRoom>): string {
  const free = Math.max(0, room.quota - room.usage);
  return (
    `Not available offline: this pack downloads ${formatBytes(download)}, more than the ${formatBytes(free)} free of the ` +
    `${formatBytes(room.quota)} this browser gives this site, so it is not stored. It works online as it is; free some space ` +
    `(Clear cache below, or other sites' data in the browser's settings) and load it again to keep it.`
  );
}

/** The WebGPU precision that fits the adapter's buffers: the chosen one, float16 instead, or null (none). */
function gpuPrecision(input: CapacityInput, limit: number): { precision: PrecisionChoice; over: GraphSource[] } {
  const chosen = input.precision;
  const over = tooLargeForBuffers(sourcesAt(input.graphs, chosen.dtype), limit);
  if (over.length === 0 || chosen.dtype === 'float16' || !input.shaderF16) return { precision: chosen, over };
  const over16 = tooLargeForBuffers(sourcesAt(input.graphs, 'float16'), limit);
  if (over16.length > 0) return { precision: chosen, over };
  const names = over.map((s) => s.file).join(', ');
  const reason = `float16 weights: the float32 ${names} has a tensor larger than this adapter's ${formatBytes(limit)} buffers`;
  return { precision: { dtype: 'float16', reason }, over: [] };
}

/** The float16 weights of the graphs, when every graph too big at float32 has a float16 variant; else null. */
function float16Bytes(input: CapacityInput): number | null {
  const has16 = input.graphs.some((g) => g.variants.some((v) => v.dtype === 'float16'));
  return has16 ? weightBytes(input.manifest, sourcesAt(input.graphs, 'float16')) : null;
}

/** Compares the pack's sizes with the device's limits and the storage room; see the table above. */
export function planCapacity(input: CapacityInput): CapacityPlan {
  const { manifest, backend, limits, storage, cached } = input;
  let precision = input.precision;
  let problem: string | null = null;
  if (backend === 'webgpu' && limits) {
    const limit = bufferLimit(limits);
    const gpu = gpuPrecision(input, limit);
    precision = gpu.precision;
    if (gpu.over.length > 0) problem = buffersTooSmall(gpu.over, limit);
  }
  const sources = sourcesAt(input.graphs, precision.dtype);
  const weights = weightBytes(manifest, sources);
  if (backend === 'wasm' && weights + WASM_WORKING_MARGIN > WASM_ADDRESS_SPACE) problem = wasmTooSmall(weights, float16Bytes(input));
  const download = downloadBytes(manifest, sources, cached);
  const room = storage?.quota === undefined ? null : { quota: storage.quota, usage: storage.usage ?? 0 };
  const storageNote = room && download > room.quota - room.usage ? storageTooSmall(download, room) : null;
  return { fits: problem === null, precision, problem, storage: storageNote, weightBytes: weights, downloadBytes: download };
}

export interface OnDemandInput {
  manifest: Manifest;
  /** the graphs whose sessions exist (they stay in memory) */
  loaded: readonly PackGraph[];
  /** the graph a request needs, not loaded yet */
  graph: PackGraph;
  /** 'cpu' (onnxruntime-node: the CLI and tests) has neither limit */
  backend: 'webgpu' | 'wasm' | 'cpu';
  /** the precision the pack was loaded at (on-demand graphs load at the same) */
  precision: PrecisionChoice;
  limits: GpuBufferLimits | null;
}

/** Why `file` cannot join the graphs already in WASM's memory, in words, with what to do. */
export function wasmCannotAdd(file: string, adding: number, held: number): string {
  return (
    `${file} (${formatBytes(adding)}) does not fit beside the graphs already loaded (${formatBytes(held)}): with a ` +
    `${formatBytes(WASM_WORKING_MARGIN)} working margin they need ${formatBytes(held + adding + WASM_WORKING_MARGIN)}, and WASM ` +
    'holds 4.3 GB (4 GiB). Nothing was downloaded, and the models already loaded still work: choose one of them, or use a ' +
    'browser and device with WebGPU.'
  );
}

/**
 * Before a graph is downloaded on first use (a denoiser the grid or the user asks for): null
 * when it fits beside the loaded graphs, else why not. On WASM the loaded graphs' weights and
 * the new one's share the 4 GiB heap; on WebGPU the new graph's largest tensor must fit a buffer.
 */
export function onDemandProblem(input: OnDemandInput): string | null {
  const { manifest, backend, limits, precision } = input;
  const [source] = sourcesAt([input.graph], precision.dtype);
  if (!source) return null;
  if (backend === 'webgpu' && limits) {
    const over = tooLargeForBuffers([source], bufferLimit(limits));
    if (over.length > 0) return `${buffersTooSmall(over, bufferLimit(limits))} The models already loaded still work.`;
  }
  if (backend === 'wasm') {
    const held = weightBytes(manifest, sourcesAt(input.loaded, precision.dtype));
    const adding = sourceBytes(manifest, source);
    if (held + adding + WASM_WORKING_MARGIN > WASM_ADDRESS_SPACE) return wasmCannotAdd(source.file, adding, held);
  }
  return null;
}
