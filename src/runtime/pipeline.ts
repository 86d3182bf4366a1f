// The text-to-audio pipeline over ONNX Runtime (web or node), implementing ./api.ts.
// Reads as numbered stages (STYLE.md): 1. tokenize, 2. encode text, 3. denoise, 4. decode latent,
// 5. vocode. The sampler is the pure src/engine/ (docs/sampling.md); the pack layout is
// docs/pack-format.md.

import { gaussianNoise } from '../engine/rng';
import { sample, type Denoise } from '../engine/sample';
import { alphasCumprod, trailingGrid } from '../engine/schedule';
import { stepsRefusal } from '../engine/steps';
import { STAGES, type Backend, type GenerateOptions, type GenerateRequest, type GenerateResult, type Stage } from './api';
import { abortError, PackError } from './errors';
import { findDenoiser, type DenoiserSpec, type Manifest } from './manifest';
import {
  chooseSource,
  externalDataEntries,
  filesToLoad,
  packGraphs,
  type GraphKind,
  type GraphSource,
  type WeightDtype,
} from './graphs';
import type { OrtModule, OrtSession, OrtTensor } from './ort';
import { fetchManifestFrom, loadPackFiles, type FetchFile, type FileEvent, type FileSource, type PackFileCache } from './pack';
import { encodeBatch, PromptTokenizer } from './tokenizer';

export type { OrtModule } from './ort';

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

/** Each graph's interface (docs/pack-format.md): input names and the output name. */
const GRAPH_IO: Record<GraphKind, { inputs: readonly string[]; output: string }> = {
  text: { inputs: ['input_ids', 'attention_mask'], output: 'last_hidden_state' },
  denoiser: {
    inputs: ['sample', 'timestep', 'encoder_hidden_states', 'encoder_attention_mask'],
    output: 'v_prediction',
  },
  vae: { inputs: ['latent'], output: 'log_mel' },
  vocoder: { inputs: ['log_mel'], output: 'waveform' },
};
/** Element types of each graph input (docs/pack-format.md); outputs are float32. */
const INPUT_TYPES: Record<string, string> = {
  input_ids: 'int64',
  attention_mask: 'int64',
  sample: 'float32',
  timestep: 'int64',
  encoder_hidden_states: 'float32',
  encoder_attention_mask: 'int64',
  latent: 'float32',
  log_mel: 'float32',
};

interface Graph {
  file: string;
  kind: GraphKind;
  session: OrtSession;
}

const now = (): number => performance.now();

export class Pipeline {
  readonly manifest: Manifest;
  readonly backend: Backend;
  /** set by load(): the graph files used and where the files came from */
  loadReport: LoadReport | null = null;
  private readonly ort: OrtModule;
  private readonly tokenizer: PromptTokenizer;
  private readonly textEncoder: Graph;
  private readonly denoisers: Map<string, Graph>;
  private readonly vaeDecoder: Graph;
  private readonly vocoder: Graph;
  /** abar_t, t = 0..T-1 (float64) */
  private readonly abar: Float64Array;
  /** session runs are chained one at a time */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(args: {
    manifest: Manifest;
    backend: Backend;
    ort: OrtModule;
    tokenizer: PromptTokenizer;
    textEncoder: Graph;
    denoisers: Map<string, Graph>;
    vaeDecoder: Graph;
    vocoder: Graph;
  }) {
    this.manifest = args.manifest;
    this.backend = args.backend;
    this.ort = args.ort;
    this.tokenizer = args.tokenizer;
    this.textEncoder = args.textEncoder;
    this.denoisers = args.denoisers;
    this.vaeDecoder = args.vaeDecoder;
    this.vocoder = args.vocoder;
    const s = args.manifest.schedule;
    this.abar = alphasCumprod(s.num_train_timesteps, s.beta_start, s.beta_end);
  }

  /**
   * Reads manifest.json through fetchFile, validates it, fetches and verifies every file, then
   * creates the ONNX sessions one at a time (concurrent creates throw in ORT-web). Any pack
   * problem throws PackError naming the file.
   */
  static async load(opts: PipelineLoadOptions): Promise<Pipeline> {
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
        throw new PackError(file, `could not create an ONNX session on ${backend} (${message(e)})`, { cause: e });
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
      const pipeline = new Pipeline({ manifest, backend, ort, tokenizer, textEncoder, denoisers, vaeDecoder, vocoder });
      pipeline.loadReport = {
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
      return pipeline;
    } catch (e) {
      for (const g of created) await g.session.release().catch(() => undefined);
      throw e;
    }
  }

  /** The prompt tokenizer of the pack (tokenizer.json + tokenizer_config.json). */
  get promptTokenizer(): PromptTokenizer {
    return this.tokenizer;
  }

  /** Checks a request against the pack; throws an Error saying what is wrong. */
  validateRequest(req: GenerateRequest): DenoiserSpec {
    const d = findDenoiser(this.manifest, req.denoiserId);
    const refusal = stepsRefusal(d, req.steps, this.manifest.schedule.num_train_timesteps);
    if (refusal !== null) throw new Error(refusal);
    if (d.role === 'teacher' && !Number.isFinite(req.guidanceScale)) {
      throw new Error(`guidanceScale must be a finite number, got ${req.guidanceScale}`);
    }
    if (!Number.isSafeInteger(req.seed) || req.seed < 0) throw new Error(`seed must be an integer >= 0, got ${req.seed}`);
    return d;
  }

  /** One text-to-audio generation (numbered stages below). */
  async generate(req: GenerateRequest, opts: GenerateOptions = {}): Promise<GenerateResult> {
    this.checkAlive();
    const { signal, onProgress } = opts;
    const denoiser = this.validateRequest(req);
    const guided = denoiser.role === 'teacher';
    const m = this.manifest;
    const timings = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
    // progress: { stage } as each stage starts; denoise reports step 0 of N, then each finished step
    const stage = async <T>(name: Stage, fn: () => Promise<T> | T): Promise<T> => {
      if (signal?.aborted) throw abortError();
      if (name !== 'denoise') onProgress?.({ stage: name });
      const t0 = now();
      const out = await fn();
      timings[name] += now() - t0;
      return out;
    };

    // 1. Tokenize: the prompt, and for a guided teacher the unconditional prompt "" (row 1).
    const prompts = guided ? [req.prompt, m.text.unconditional_prompt] : [req.prompt];
    const tokens = await stage('tokenize', () =>
      encodeBatch(this.tokenizer, prompts, m.text.max_tokens, m.text.pad_token_id),
    );
    const batch = prompts.length;
    const cond = tokens.rows[0]!;

    // 2. Encode text: one batch of `batch` rows -> hidden [batch, L, H]. The pack's encoder is
    //    batch-invariant (int8 weights, float activations), so a row does not depend on its batch-mates.
    const hidden = await stage('encode', () => this.encodeText(tokens.inputIds, tokens.attentionMask, batch, signal));

    // 3. Denoise: sample() from z ~ N(0, I) at tau_0 on the trailing grid, guided for a teacher
    //    (docs/sampling.md E7, E8, E20); the denoiser sees the `batch` text rows encoded above.
    const { channels: C, frames: Tl, bins: F } = m.latent;
    const grid = trailingGrid(req.steps, m.schedule.num_train_timesteps);
    const denoise: Denoise = (z, t, rows) =>
      this.denoiseOnce(denoiser.id, z, t, hidden, tokens.attentionMask, rows, signal);
    const z = await stage('denoise', () => {
      const progress = (step: number): void => onProgress?.({ stage: 'denoise', step, totalSteps: grid.length });
      progress(0);
      const noise = gaussianNoise(req.seed, C * Tl * F); // z at tau_0, (1, C, T, F)
      return sample(denoise, noise, grid, this.abar, guided ? req.guidanceScale : undefined, (k) => progress(k + 1));
    });
    const networkEvaluations = grid.length * batch;

    // 4. Decode latent: z / scale -> log_mel (1, 1, frames, mels).
    const logMel = await stage('decode', () => this.decodeLatent(z, signal));

    // 5. Vocode: log_mel (1, 1, frames, mels) -> (1, mels, frames) -> waveform (1, samples).
    const waveform = await stage('vocode', () => this.vocode(logMel, signal));

    return {
      waveform: clamp(waveform),
      sampleRate: m.audio.sample_rate,
      timings,
      networkEvaluations,
      truncated: cond.truncated,
      tokenCount: cond.tokenCount,
    };
  }

  /** Text encoder: ids and mask int64 [batch, L] -> last_hidden_state float32 [batch, L, H]. */
  async encodeText(
    inputIds: BigInt64Array,
    attentionMask: BigInt64Array,
    batch: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const L = rowLength(inputIds.length, batch, 'input_ids');
    const H = this.manifest.text.hidden_size;
    return this.run(
      this.textEncoder,
      {
        input_ids: this.int64(inputIds, [batch, L]),
        attention_mask: this.int64(attentionMask, [batch, L]),
      },
      [batch, L, H],
      signal,
    );
  }

  /**
   * One denoiser evaluation: sample [batch, C, T, F] at integer `timestep` (the same for every
   * row), hidden [batch, L, H], mask int64 [batch, L] -> v_prediction [batch, C, T, F].
   */
  async denoiseOnce(
    denoiserId: string,
    sample: Float32Array,
    timestep: number,
    hidden: Float32Array,
    mask: BigInt64Array,
    batch: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    findDenoiser(this.manifest, denoiserId);
    const graph = this.denoisers.get(denoiserId);
    if (!graph) throw new Error(`denoiser "${denoiserId}" has no session`);
    const { channels: C, frames: T, bins: F } = this.manifest.latent;
    const H = this.manifest.text.hidden_size;
    const L = rowLength(mask.length, batch, 'encoder_attention_mask');
    if (sample.length !== batch * C * T * F) {
      throw new RangeError(`sample has ${sample.length} values, expected batch ${batch} x [${C}, ${T}, ${F}]`);
    }
    if (hidden.length !== batch * L * H) {
      throw new RangeError(`encoder_hidden_states has ${hidden.length} values, expected [${batch}, ${L}, ${H}]`);
    }
    if (!Number.isInteger(timestep) || timestep < 0 || timestep >= this.manifest.schedule.num_train_timesteps) {
      throw new RangeError(`timestep ${timestep} is outside 0..${this.manifest.schedule.num_train_timesteps - 1}`);
    }
    return this.run(
      graph,
      {
        sample: this.float32(sample, [batch, C, T, F]),
        timestep: this.int64(new BigInt64Array(batch).fill(BigInt(timestep)), [batch]),
        encoder_hidden_states: this.float32(hidden, [batch, L, H]),
        encoder_attention_mask: this.int64(mask, [batch, L]),
      },
      [batch, C, T, F],
      signal,
    );
  }

  /** VAE decoder on z / latent.scale: z [C, T, F] -> log_mel [1, 1, frames, mels]. */
  async decodeLatent(z: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    const { channels: C, frames: T, bins: F, scale } = this.manifest.latent;
    const { frames, n_mels: mels } = this.manifest.audio;
    if (z.length !== C * T * F) throw new RangeError(`latent has ${z.length} values, expected [${C}, ${T}, ${F}]`);
    const latent = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) latent[i] = z[i]! / scale;
    return this.run(this.vaeDecoder, { latent: this.float32(latent, [1, C, T, F]) }, [1, 1, frames, mels], signal);
  }

  /** Vocoder: log_mel [1, 1, frames, mels] -> transposed to [1, mels, frames] -> waveform [1, samples]. */
  async vocode(logMel: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    const { frames, n_mels: mels, num_samples: samples } = this.manifest.audio;
    const input = transpose(logMel, frames, mels); // (frames, mels) -> (mels, frames)
    return this.run(this.vocoder, { log_mel: this.float32(input, [1, mels, frames]) }, [1, samples], signal);
  }

  /**
   * Runs each session once on dummy inputs of the shapes generate() uses (a guided teacher
   * runs batch 2, a student batch 1): first runs allocate memory and, on WebGPU, compile the
   * shaders for those shapes, so the user's first generation is not the slow one.
   * Returns the milliseconds it took.
   */
  async warmUp(): Promise<number> {
    const t0 = now();
    const m = this.manifest;
    const L = m.text.max_tokens;
    const rows = (batch: number): { ids: BigInt64Array; mask: BigInt64Array } => {
      const ids = new BigInt64Array(batch * L).fill(BigInt(m.text.pad_token_id));
      const mask = new BigInt64Array(batch * L);
      for (let r = 0; r < batch; r++) mask[r * L] = 1n;
      return { ids, mask };
    };
    const size = m.latent.channels * m.latent.frames * m.latent.bins;
    const batches = [...new Set(m.denoisers.map((d) => (d.role === 'teacher' ? 2 : 1)))];
    for (const batch of batches) {
      const { ids, mask } = rows(batch);
      const hidden = await this.encodeText(ids, mask, batch);
      for (const d of m.denoisers.filter((e) => (e.role === 'teacher' ? 2 : 1) === batch)) {
        await this.denoiseOnce(d.id, new Float32Array(batch * size), 0, hidden, mask, batch);
      }
    }
    await this.vocode(await this.decodeLatent(new Float32Array(size)));
    return now() - t0;
  }

  /** Releases every session; the pipeline cannot be used afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => undefined);
    const graphs = [this.textEncoder, ...this.denoisers.values(), this.vaeDecoder, this.vocoder];
    for (const g of graphs) await g.session.release().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------

  private checkAlive(): void {
    if (this.disposed) throw new Error('this Pipeline was disposed');
  }

  private float32(data: Float32Array, dims: number[]): OrtTensor {
    return new this.ort.Tensor('float32', data, dims);
  }

  private int64(data: BigInt64Array, dims: number[]): OrtTensor {
    return new this.ort.Tensor('int64', data, dims);
  }

  /** Runs one session (chained after every other run), checks the output's shape, copies it out. */
  private run(graph: Graph, feeds: Record<string, OrtTensor>, expected: number[], signal?: AbortSignal): Promise<Float32Array> {
    const task = async (): Promise<Float32Array> => {
      this.checkAlive();
      if (signal?.aborted) throw abortError();
      const io = GRAPH_IO[graph.kind];
      const outputs = await graph.session.run(feeds);
      const out = outputs[io.output];
      try {
        if (!out) throw new PackError(graph.file, `returned no output "${io.output}"`);
        if (out.type !== 'float32' || !ArrayBuffer.isView(out.data)) {
          throw new PackError(graph.file, `output "${io.output}" is ${out.type}, expected float32`);
        }
        if (out.dims.length !== expected.length || out.dims.some((d, i) => d !== expected[i])) {
          throw new PackError(
            graph.file,
            `output "${io.output}" has shape [${out.dims.join(', ')}], the manifest implies [${expected.join(', ')}]`,
          );
        }
        return new Float32Array(out.data as Float32Array);
      } finally {
        for (const t of Object.values(outputs)) t.dispose?.();
      }
    };
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

// ---------------------------------------------------------------------------------------

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Input checks: the graph must have the inputs and the output docs/pack-format.md names, with
 * their element types where the runtime reports them (a float16 variant must keep float32
 * inputs and outputs).
 */
function checkGraphIo(graph: Graph): void {
  const io = GRAPH_IO[graph.kind];
  const missing = io.inputs.filter((name) => !graph.session.inputNames.includes(name));
  if (missing.length > 0) {
    throw new PackError(
      graph.file,
      `missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the graph has: ${graph.session.inputNames.join(', ')})`,
    );
  }
  if (!graph.session.outputNames.includes(io.output)) {
    throw new PackError(graph.file, `missing output ${io.output} (the graph has: ${graph.session.outputNames.join(', ')})`);
  }
  const wrong = [
    ...(graph.session.inputMetadata ?? [])
      .filter((v) => io.inputs.includes(v.name))
      .map((v) => ({ v, want: INPUT_TYPES[v.name] ?? 'float32', what: 'input' })),
    ...(graph.session.outputMetadata ?? [])
      .filter((v) => v.name === io.output)
      .map((v) => ({ v, want: 'float32', what: 'output' })),
  ].filter(({ v, want }) => v.isTensor && v.type !== undefined && v.type !== want);
  if (wrong.length > 0) {
    const list = wrong.map(({ v, want, what }) => `${what} ${v.name} is ${v.type}, expected ${want}`).join('; ');
    throw new PackError(
      graph.file,
      `${list}. Graph inputs and outputs stay float32 even in a float16 variant ` +
        '(convert with keep_io_types=True, as soundstep_factory.repack does)',
    );
  }
}

/**
 * The graph's external-data files (manifest `external_data`) handed to the session as
 * `externalData: [{ path, data }]` (onnxruntime-web), `path` being the name the graph records.
 */
function withExternalData(options: object, source: GraphSource, bytes: (file: string) => Uint8Array): object {
  const external = externalDataEntries(source, bytes);
  return external.length > 0 ? { ...options, externalData: external } : options;
}

function rowLength(length: number, batch: number, name: string): number {
  if (!Number.isInteger(batch) || batch < 1 || length % batch !== 0 || length === 0) {
    throw new RangeError(`${name} has ${length} values, which is not batch ${batch} rows`);
  }
  return length / batch;
}

/** (rows, cols) row-major -> (cols, rows). */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  if (x.length !== rows * cols) throw new RangeError(`cannot transpose ${x.length} values as [${rows}, ${cols}]`);
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

function clamp(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i]!));
  return x;
}
