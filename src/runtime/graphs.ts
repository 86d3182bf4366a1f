// The pack's ONNX graphs as the loader sees them: each graph's float32 file, its optional
// float16 variant, the external-data files of each, and the choice between them
// (docs/pack-format.md "External data and variants"). Pure functions, no ORT.

import { folderOf, type GraphStorage, type Manifest } from './manifest';

/** What a graph computes: picks its input and output names (pipeline.ts GRAPH_IO). */
export type GraphKind = 'text' | 'denoiser' | 'vae' | 'vae-encoder' | 'vocoder';

/** Precision of a graph file: the graph's own `file` is float32, a variant float16 or int8. */
export type WeightDtype = 'float32' | 'float16' | 'int8';

/** One loadable ONNX file and the external-data files it needs. */
export interface GraphSource {
  file: string;
  /** pack-relative paths of its external-data files (possibly none) */
  externalData: string[];
  dtype: WeightDtype;
  /** bytes of its largest weight tensor, when the manifest says (largest_tensor_bytes) */
  largestTensorBytes?: number;
}

/** One graph of the pack with every file it comes in. */
export interface PackGraph {
  kind: GraphKind;
  /** manifest field naming it, e.g. 'denoisers[0]' (for messages) */
  field: string;
  /** the denoiser id, for denoisers */
  denoiserId?: string;
  float32: GraphSource;
  /** other precisions, at most one per dtype */
  variants: GraphSource[];
}

const largest = (bytes: number | undefined): Pick<GraphSource, 'largestTensorBytes'> =>
  bytes === undefined ? {} : { largestTensorBytes: bytes };

function sources(file: string, storage: GraphStorage): Pick<PackGraph, 'float32' | 'variants'> {
  return {
    float32: { file, externalData: [...(storage.external_data ?? [])], dtype: 'float32', ...largest(storage.largest_tensor_bytes) },
    variants: (storage.variants ?? []).map((v) => ({
      file: v.file,
      externalData: [...(v.external_data ?? [])],
      dtype: v.dtype,
      ...largest(v.largest_tensor_bytes),
    })),
  };
}

/** Every graph of a (validated) manifest, in the order the pipeline creates their sessions. */
export function packGraphs(m: Manifest): PackGraph[] {
  const text: GraphStorage = {
    external_data: m.text.encoder_external_data,
    variants: m.text.encoder_variants,
    largest_tensor_bytes: m.text.encoder_largest_tensor_bytes,
  };
  return [
    { kind: 'text', field: 'text.encoder', ...sources(m.text.encoder, text) },
    ...m.denoisers.map((d, i) => ({
      kind: 'denoiser' as const,
      field: `denoisers[${i}]`,
      denoiserId: d.id,
      ...sources(d.file, d),
    })),
    { kind: 'vae', field: 'vae_decoder', ...sources(m.vae_decoder.file, m.vae_decoder) },
    { kind: 'vocoder', field: 'vocoder', ...sources(m.vocoder.file, m.vocoder) },
    // optional: audio-to-audio encodes the user's sound with it (absent in older packs)
    ...(m.vae_encoder ? [{ kind: 'vae-encoder' as const, field: 'vae_encoder', ...sources(m.vae_encoder.file, m.vae_encoder) }] : []),
  ];
}

/** The graph's file in `dtype` when the pack has that variant, else its float32 file. */
export function chooseSource(graph: PackGraph, dtype: WeightDtype): GraphSource {
  if (dtype === 'float32') return graph.float32;
  return graph.variants.find((v) => v.dtype === dtype) ?? graph.float32;
}

/** The files one graph source loads: its graph file, then its external data. */
export function sourceFiles(source: GraphSource): string[] {
  return [source.file, ...source.externalData];
}

/** Bytes of a graph source's files, as manifest.json lists them (what it downloads). */
export function sourceBytes(m: Manifest, source: GraphSource): number {
  return sourceFiles(source).reduce((n, f) => n + (m.files[f]?.bytes ?? 0), 0);
}

/** How many graphs of the pack have a `dtype` variant. */
export function countVariants(graphs: readonly PackGraph[], dtype: WeightDtype): number {
  return graphs.filter((g) => g.variants.some((v) => v.dtype === dtype)).length;
}

/**
 * The files to fetch for the chosen graph files: every file of the manifest except the graph
 * files (and their external data) of the variants not chosen, in `files` order. A Tango-size pack with float16 variants thus downloads one copy of its
 * weights, not two.
 */
export function filesToLoad(m: Manifest, chosen: readonly GraphSource[]): string[] {
  const used = new Set(chosen.flatMap((s) => [s.file, ...s.externalData]));
  const unused = new Set(
    packGraphs(m)
      .flatMap((g) => [g.float32, ...g.variants])
      .flatMap((s) => [s.file, ...s.externalData])
      .filter((f) => !used.has(f)),
  );
  return Object.keys(m.files).filter((f) => !unused.has(f));
}

/** An ORT `externalData` entry: the path as the graph names it (relative to its folder), and the bytes. */
export interface ExternalDataEntry {
  path: string;
  data: Uint8Array;
}

/**
 * The `externalData` session option for `source` (onnxruntime-web): each file's bytes under
 * the path the ONNX graph records, which is relative to the graph's own folder.
 */
export function externalDataEntries(source: GraphSource, bytes: (file: string) => Uint8Array): ExternalDataEntry[] {
  const folder = folderOf(source.file);
  return source.externalData.map((file) => ({ path: file.slice(folder.length), data: bytes(file) }));
}

// ---------------------------------------------------------------------------------------
// Precision choice
// ---------------------------------------------------------------------------------------

/** What the page asks for; 'auto' = float16 on WebGPU with shader-f16, int8 on WASM, else float32. */
export type PrecisionPreference = 'auto' | WeightDtype;
/** Every preference, for the bench's and the CLI's flags. */
export const PRECISION_PREFERENCES: readonly PrecisionPreference[] = ['auto', 'float32', 'float16', 'int8'];

/** `value` as a preference, or undefined when it names none. */
export function parsePrecision(value: string): PrecisionPreference | undefined {
  return PRECISION_PREFERENCES.find((p) => p === value);
}

export interface PrecisionInput {
  backend: 'webgpu' | 'wasm' | 'cpu';
  /** the WebGPU adapter has the 'shader-f16' feature (false off WebGPU) */
  shaderF16: boolean;
  /** graphs of the pack with a float16 variant */
  float16Graphs: number;
  /** graphs of the pack with an int8 variant (0 when the pack has none) */
  int8Graphs?: number;
  totalGraphs: number;
  preference?: PrecisionPreference;
}

export interface PrecisionChoice {
  dtype: WeightDtype;
  /** a sentence for the user: which weights and why */
  reason: string;
}

/**
 * The variants that help where they can run. float16 on WebGPU with shader-f16. int8 arithmetic
 * on WASM, whose int8 kernels run the default student's steps in 0.68-0.88x their float32 time in
 * Chromium (docs/speed.md); onnxruntime-node's take the same time either way, so 'cpu' keeps float32, and
 * WebGPU has no QuantizeLinear kernel. WASM has no float16 arithmetic (ORT would cast every
 * float16 op back to float32). A forced 'float16' or 'int8' is honoured where the pack has such
 * variants (tests, debugging, A/B benchmarks).
 */
export function selectPrecision(input: PrecisionInput): PrecisionChoice {
  const { backend, shaderF16, float16Graphs, int8Graphs = 0, totalGraphs, preference = 'auto' } = input;
  const some = `${float16Graphs} of ${totalGraphs} graphs`;
  const someInt8 = `${int8Graphs} of ${totalGraphs} graphs`;
  if (preference === 'float32') return { dtype: 'float32', reason: 'float32 weights, as requested' };
  if (preference === 'int8') {
    return int8Graphs === 0
      ? { dtype: 'float32', reason: 'float32 weights: the pack has no int8 variants' }
      : { dtype: 'int8', reason: `int8 arithmetic for ${someInt8}, as requested` };
  }
  if (backend === 'wasm' && preference === 'auto' && int8Graphs > 0) {
    return { dtype: 'int8', reason: `int8 arithmetic for ${someInt8}: faster than float32 on WASM` };
  }
  if (backend === 'cpu' && preference === 'auto' && int8Graphs > 0) {
    return { dtype: 'float32', reason: 'float32 weights: the int8 variants are for WASM (no faster on onnxruntime-node)' };
  }
  if (float16Graphs === 0) return { dtype: 'float32', reason: 'float32 weights: the pack has no float16 variants' };
  if (preference === 'float16') return { dtype: 'float16', reason: `float16 weights for ${some}, as requested` };
  if (backend !== 'webgpu') {
    return { dtype: 'float32', reason: `float32 weights: float16 variants are for WebGPU, this runs on ${backend.toUpperCase()}` };
  }
  if (!shaderF16) {
    return { dtype: 'float32', reason: 'float32 weights: the WebGPU adapter has no shader-f16, so the float16 variants cannot run' };
  }
  return { dtype: 'float16', reason: `float16 weights for ${some}: the WebGPU adapter has shader-f16` };
}

/** selectPrecision for a validated manifest: the pack's variants counted from its graphs. */
export function selectPackPrecision(
  m: Manifest,
  device: Pick<PrecisionInput, 'backend' | 'shaderF16' | 'preference'>,
): PrecisionChoice {
  const graphs = packGraphs(m);
  return selectPrecision({
    ...device,
    float16Graphs: countVariants(graphs, 'float16'),
    int8Graphs: countVariants(graphs, 'int8'),
    totalGraphs: graphs.length,
  });
}
