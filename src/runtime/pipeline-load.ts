// Loading a pack for the Pipeline: manifest, verified files, tokenizer, then one ONNX session
// per graph, created one at a time (concurrent creates throw in ORT-web).

import type { Backend } from './api';
import { PackError } from './errors';
import { checkGraphIo, withExternalData, type Graph } from './graph-io';
import { chooseSource, filesToLoad, packGraphs, type GraphKind, type WeightDtype } from './graphs';
import type { Manifest } from './manifest';
import type { OrtModule, OrtSession } from './ort';
import { fetchManifestFrom, loadPackFiles, type FetchFile, type FileEvent, type FileSource, type PackFileCache } from './pack';
import { PromptTokenizer } from './tokenizer';

export interface PipelineLoadOptions {
  ort: OrtModule;
  backend: Backend;
  fetchFile: FetchFile;
  onFile?: (e: FileEvent) => void;
  /** passed to InferenceSession.create; default { executionProviders: [backend] } */
  sessionOptions?: object;
  /**
   * Which weights to load where the pack has a variant (graphs.ts selectPrecision); default
   * float32. May also be a function of the manifest, called once it is validated.
   */
  precision?: WeightDtype | ((m: Manifest) => WeightDtype);
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
}

/** How a pack was loaded: which file of each graph, and where the files came from. */
export interface LoadReport {
  /** the file each graph session was created from, with its weight precision */
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

/** Everything a Pipeline is made of, as loaded from a pack. */
export interface LoadedPack {
  manifest: Manifest;
  tokenizer: PromptTokenizer;
  textEncoder: Graph;
  denoisers: Map<string, Graph>;
  vaeDecoder: Graph;
  vocoder: Graph;
  /** the optional VAE encoder (audio-to-audio); null when the pack has none */
  vaeEncoder: Graph | null;
  report: LoadReport;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Reads manifest.json through fetchFile, validates it, fetches and verifies every file, then
 * creates the ONNX sessions one at a time. A pack problem throws PackError naming the file
 * (kind 'pack'); a session this runtime cannot create, PackError of kind 'device'.
 */
export async function loadPack(opts: PipelineLoadOptions): Promise<LoadedPack> {
  const { ort, backend, fetchFile, cache } = opts;
  const { manifest, source: manifestSource } = await fetchManifestFrom(fetchFile, cache);
  const precision = typeof opts.precision === 'function' ? opts.precision(manifest) : (opts.precision ?? 'float32');
  const graphs = packGraphs(manifest);
  const chosen = graphs.map((g) => ({ graph: g, source: chooseSource(g, precision) }));
  const sources: Record<FileSource, number> = { network: 0, cache: 0 };
  opts.onPhase?.('files');
  const files = await loadPackFiles(fetchFile, manifest, {
    files: filesToLoad(manifest, chosen.map((c) => c.source)),
    cache,
    onFile: (e) => {
      if (e.done && e.source) sources[e.source] += 1;
      opts.onFile?.(e);
    },
  });
  const bytes = (file: string): Uint8Array => {
    const b = files.get(file);
    if (!b) throw new PackError(file, 'was not loaded');
    return b;
  };

  let tokenizer: PromptTokenizer;
  try {
    tokenizer = PromptTokenizer.fromBytes(bytes(manifest.text.tokenizer), bytes(manifest.text.tokenizer_config));
  } catch (e) {
    if (e instanceof PackError) throw e;
    throw new PackError(manifest.text.tokenizer, `could not be loaded as a tokenizer (${message(e)})`, { cause: e });
  }

  opts.onPhase?.('sessions');
  const sessionOptions = opts.sessionOptions ?? { executionProviders: [backend] };
  const created: Graph[] = [];
  const create = async (float32File: string, kind: GraphKind): Promise<Graph> => {
    const source = chosen.find((c) => c.graph.float32.file === float32File)?.source ?? {
      file: float32File,
      externalData: [],
      dtype: 'float32' as const,
    };
    const file = source.file;
    let session: OrtSession;
    try {
      session = opts.modelPath
        ? await ort.InferenceSession.create(opts.modelPath(file), sessionOptions)
        : await ort.InferenceSession.create(bytes(file), withExternalData(sessionOptions, source, bytes));
    } catch (e) {
      throw new PackError(file, `could not create an ONNX session on ${backend} (${message(e)})`, { cause: e, kind: 'device' });
    }
    const graph = { file, kind, session };
    created.push(graph);
    checkGraphIo(graph);
    return graph;
  };
  try {
    const textEncoder = await create(manifest.text.encoder, 'text');
    const denoisers = new Map<string, Graph>();
    for (const d of manifest.denoisers) denoisers.set(d.id, await create(d.file, 'denoiser'));
    const vaeDecoder = await create(manifest.vae_decoder.file, 'vae');
    const vocoder = await create(manifest.vocoder.file, 'vocoder');
    const vaeEncoder = manifest.vae_encoder ? await create(manifest.vae_encoder.file, 'vae-encoder') : null;
    const report: LoadReport = {
      graphs: chosen.map(({ graph, source }) => ({
        file: source.file,
        kind: graph.kind,
        dtype: source.dtype,
        externalData: source.externalData,
      })),
      precision,
      manifestSource,
      fromCache: sources.cache,
      fromNetwork: sources.network,
      bytes: [...files.values()].reduce((n, b) => n + b.length, 0),
    };
    return { manifest, tokenizer, textEncoder, denoisers, vaeDecoder, vocoder, vaeEncoder, report };
  } catch (e) {
    for (const g of created) await g.session.release().catch(() => undefined);
    throw e;
  }
}
