// Loading a pack for the Pipeline: manifest, verified files, tokenizer, then one ONNX session
// per graph, created one at a time (concurrent creates throw in ORT-web).
//
// Only what one generation needs is loaded up front: the text encoder, ONE denoiser (the pack's
// default, or the one asked for), the VAE decoder and the vocoder. The other denoisers and the
// optional VAE encoder are fetched and created on first use through the GraphLoader returned
// here (./sessions.ts), over the same cache, checks and progress path: a Tango-size pack could
// not hold all its U-Nets at once, and the small pack's first download stays small.

import type { Backend } from './api';
import { summarizeManifest } from '../domain/pack-summary';
import { defaultChoice } from '../domain/default-denoiser';
import { PackError } from './errors';
import { checkGraphIo, withExternalData, type Graph } from './graph-io';
import { graphSessionOptions, type SessionOptionsLike } from './session-options';
import { chooseSource, filesToLoad, packGraphs, sourceBytes, sourceFiles, type GraphKind, type GraphSource, type PackGraph, type WeightDtype } from './graphs';
import { findDenoiser, type Manifest } from './manifest';
import type { OrtModule, OrtSession } from './ort';
import { fetchManifestFrom, loadPackFiles, type FetchFile, type FileEvent, type FileSource, type PackFileCache } from './pack';
import { PromptTokenizer } from './tokenizer';

export interface PipelineLoadOptions {
  ort: OrtModule;
  backend: Backend;
  fetchFile: FetchFile;
  onFile?: (e: FileEvent) => void;
  /** passed to InferenceSession.create; default { executionProviders: [backend] } */
  sessionOptions?: SessionOptionsLike;
  /**
   * Which weights to load where the pack has a variant (graphs.ts selectPrecision); default
   * float32. May also be a function of the manifest and the graphs loaded up front, called once
   * it is validated and before any other file is fetched: the worker checks there what the device
   * can hold (capacity.ts) and throws to stop a load that cannot fit before it downloads anything.
   */
  precision?: WeightDtype | ((m: Manifest, upFront: readonly PackGraph[]) => WeightDtype | Promise<WeightDtype>);
  /** aborting stops the load's downloads (CancelledError); files already verified stay cached */
  signal?: AbortSignal;
  /** verified copies of pack files (Cache Storage in the browser) */
  cache?: PackFileCache;
  /**
   * Node (onnxruntime-node): the file path of a pack file. Sessions are then created from the
   * path, so ORT reads a graph's external data itself from the files next to it (ORT-node has
   * no `externalData` option). Without it sessions are created from the verified bytes, with
   * external data passed as `externalData` (onnxruntime-web).
   */
  modelPath?: (file: string) => string;
  /** called as loading enters a phase: 'files' once the manifest is valid, 'sessions' once every file is verified */
  onPhase?: (phase: 'files' | 'sessions') => void;
  /** the denoiser loaded up front (default: the pack's default, domain/default-denoiser.ts); the others load on first use */
  denoiser?: string;
  /** true: every graph up front (the CLI's bench and profile time runs, not downloads) */
  eager?: boolean;
}

/** How a pack was loaded: which file of each graph, and where the files came from. */
export interface LoadReport {
  /** the file each graph session was created from at load, with its weight precision */
  graphs: Array<{ file: string; kind: GraphKind; dtype: WeightDtype; externalData: string[] }>;
  /** the precision asked for (a graph without that variant stays float32) */
  precision: WeightDtype;
  manifestSource: FileSource;
  /** files read from the cache and fetched */
  fromCache: number;
  fromNetwork: number;
  /** bytes of every loaded file */
  bytes: number;
}

/** What a graph loaded on demand takes: progress per file, and a signal that stops its download. */
export interface GraphLoadOptions {
  signal?: AbortSignal;
  onFile?: (e: FileEvent) => void;
}

/** Fetches one graph's files and creates its session; the Pipeline's on-demand path (./sessions.ts). */
export interface GraphLoader {
  /** the file (and external data) the graph loads from at the chosen precision */
  source(graph: PackGraph): GraphSource;
  /** its files, from the cache or fetched, each checked against the manifest */
  fetch(graph: PackGraph, opts: GraphLoadOptions): Promise<Map<string, Uint8Array>>;
  /** its session from those bytes (or its path on Node), with its inputs and outputs checked */
  create(graph: PackGraph, files: ReadonlyMap<string, Uint8Array>): Promise<Graph>;
}

/** Everything a Pipeline is made of, as loaded from a pack. */
export interface LoadedPack {
  manifest: Manifest;
  tokenizer: PromptTokenizer;
  /** the sessions created at load, by the graph's float32 file (graphs.ts PackGraph.float32.file) */
  graphs: Map<string, Graph>;
  /** creates the other graphs' sessions on first use */
  loader: GraphLoader;
  report: LoadReport;
}

/** A lookup of loaded files' bytes that names a file that was not loaded. */
function bytesOf(files: ReadonlyMap<string, Uint8Array>): (file: string) => Uint8Array {
  return (file) => {
    const b = files.get(file);
    if (!b) throw new PackError(file, 'was not loaded');
    return b;
  };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The denoiser loaded up front: `named` when given (an unknown id is an InputError), else the one the page starts on. */
export function upFrontDenoiser(m: Manifest, named?: string): string | undefined {
  if (named !== undefined) return findDenoiser(m, named).id;
  const summary = summarizeManifest(m);
  return defaultChoice(summary.denoisers, summary.metrics, summary.defaultDenoiser)?.denoiserId;
}

/** The graphs loaded at load: all of them when `eager`, else every one but the other denoisers and the VAE encoder. */
export function upFrontGraphs(m: Manifest, opts: Pick<PipelineLoadOptions, 'denoiser' | 'eager'>): PackGraph[] {
  const graphs = packGraphs(m);
  if (opts.eager) return graphs;
  const denoiser = upFrontDenoiser(m, opts.denoiser);
  return graphs.filter((g) => (g.kind === 'denoiser' ? g.denoiserId === denoiser : g.kind !== 'vae-encoder'));
}

/** The GraphLoader over the load's options: one fetch and create path for load time and on demand. */
function graphLoader(opts: PipelineLoadOptions, manifest: Manifest, precision: WeightDtype): GraphLoader {
  const { ort, backend, fetchFile, cache } = opts;
  const sessionOptions = opts.sessionOptions ?? { executionProviders: [backend] };
  const source = (g: PackGraph): GraphSource => chooseSource(g, precision);
  return {
    source,
    fetch: (g, o) =>
      loadPackFiles(fetchFile, manifest, {
        files: sourceFiles(source(g)),
        cache,
        signal: o.signal,
        onFile: o.onFile,
      }),
    create: async (g, files) => {
      const src = source(g);
      const bytes = bytesOf(files);
      // a big graph on WASM keeps its int8/float16-stored weights as stored (session-options.ts)
      const options = graphSessionOptions(sessionOptions, backend, sourceBytes(manifest, src));
      let session: OrtSession;
      try {
        session = opts.modelPath
          ? await ort.InferenceSession.create(opts.modelPath(src.file), options)
          : await ort.InferenceSession.create(bytes(src.file), withExternalData(options, src, bytes));
      } catch (e) {
        throw new PackError(src.file, `could not create an ONNX session on ${backend} (${message(e)})`, { cause: e, kind: 'device' });
      }
      const graph: Graph = { file: src.file, kind: g.kind, session };
      try {
        checkGraphIo(graph);
      } catch (e) {
        await session.release().catch(() => undefined);
        throw e;
      }
      return graph;
    },
  };
}

/**
 * Reads manifest.json through fetchFile, validates it, fetches and verifies the files of the
 * graphs loaded up front (upFrontGraphs) and the tokenizer's, then creates their ONNX sessions
 * one at a time. A pack problem throws PackError naming the file (kind 'pack'); a session this
 * runtime cannot create, PackError of kind 'device'.
 */
export async function loadPack(opts: PipelineLoadOptions): Promise<LoadedPack> {
  const { fetchFile, cache } = opts;
  const { manifest, source: manifestSource } = await fetchManifestFrom(fetchFile, cache);
  const upFront = upFrontGraphs(manifest, opts);
  const precision = typeof opts.precision === 'function' ? await opts.precision(manifest, upFront) : (opts.precision ?? 'float32');
  const loader = graphLoader(opts, manifest, precision);
  const sources: Record<FileSource, number> = { network: 0, cache: 0 };
  opts.onPhase?.('files');
  // one pass over the files (tokenizer, metrics and the up-front graphs), in the manifest's order
  const files = await loadPackFiles(fetchFile, manifest, {
    files: filesToLoad(manifest, upFront.map((g) => loader.source(g))),
    cache,
    signal: opts.signal,
    onFile: (e) => {
      if (e.done && e.source) sources[e.source] += 1;
      opts.onFile?.(e);
    },
  });
  const bytes = bytesOf(files);

  let tokenizer: PromptTokenizer;
  try {
    tokenizer = PromptTokenizer.fromBytes(bytes(manifest.text.tokenizer), bytes(manifest.text.tokenizer_config));
  } catch (e) {
    if (e instanceof PackError) throw e;
    throw new PackError(manifest.text.tokenizer, `could not be loaded as a tokenizer (${message(e)})`, { cause: e });
  }

  opts.onPhase?.('sessions');
  const graphs = new Map<string, Graph>();
  try {
    for (const g of upFront) graphs.set(g.float32.file, await loader.create(g, files));
  } catch (e) {
    for (const g of graphs.values()) await g.session.release().catch(() => undefined);
    throw e;
  }
  const report: LoadReport = {
    graphs: upFront.map((g) => {
      const { file, dtype, externalData } = loader.source(g);
      return { file, kind: g.kind, dtype, externalData };
    }),
    precision,
    manifestSource,
    fromCache: sources.cache,
    fromNetwork: sources.network,
    bytes: [...files.values()].reduce((n, b) => n + b.length, 0),
  };
  return { manifest, tokenizer, graphs, loader, report };
}
