// The text-to-audio pipeline over ONNX Runtime (web or node), implementing ./api.ts, as numbered
// stages (STYLE.md): 1. tokenize, 2. encode text, 3. denoise, 4. decode latent, 5. vocode. The
// sampler is the pure src/engine/ (docs/sampling.md), the pack layout docs/pack-format.md. Loading:
// ./pipeline-load.ts; sessions (at load and on first use): ./sessions.ts; graph I/O: ./graph-io.ts;
// request checks and text rows: ./request-checks.ts; the WebGPU device's sampler loop: ./device-loop.ts.

import { meanPool } from '../engine/embedding';
import { gaussianNoise } from '../engine/rng';
import { logMel } from '../engine/mel';
import { sample, type Denoise } from '../engine/sample';
import { alphasCumprod, trailingGrid } from '../engine/schedule';
import { splitDenoise } from '../engine/time-split';
import { STAGES, type Backend, type GenerateOptions, type GenerateRequest, type GenerateResult, type Stage } from './api';
import { CancelledError, InputError } from './errors';
import type { Graph } from './graph-io';
import { packGraphs, type GraphKind, type PackGraph } from './graphs';
import { findDenoiser, type DenoiserSpec, type Manifest } from './manifest';
import type { OrtModule, OrtTensor } from './ort';
import { loadPack, type GraphLoadOptions, type LoadedPack, type LoadReport, type PipelineLoadOptions } from './pipeline-load';
import { PackSessions, type NotLoaded } from './sessions';
import { warmUp } from './warm-up';
import { planDenoise } from './latent-start';
import { checkDenoiseInputs, checkLatent, checkRequest, textRows } from './request-checks';
import { clipMultiple, framesOf, timeAxisFree } from './clip-length';
import { clamp, rowLength, transpose } from './tensors';
import { DeviceLoop } from './device-loop';
import { encodeBatch, type PromptTokenizer } from './tokenizer';

export type { OrtModule } from './ort';
export type { GraphLoadOptions, LoadReport, PipelineLoadOptions } from './pipeline-load';
export type { NotLoaded } from './sessions';

const now = (): number => performance.now();

export class Pipeline {
  readonly manifest: Manifest;
  readonly backend: Backend;
  /** set by load(): the graph files used and where the files came from */
  loadReport: LoadReport | null = null;
  private readonly ort: OrtModule;
  private readonly tokenizer: PromptTokenizer;
  /** every graph of the pack (graphs.ts), loaded or not */
  private readonly graphs: PackGraph[];
  /** the sessions: text encoder, VAE decoder, vocoder and one denoiser from load, the rest on first use */
  private readonly sessions: PackSessions;
  /**
   * whether the loaded denoisers, VAE decoder and vocoder take latents longer than the pack's clip
   * (clip-length.ts); a denoiser created later is checked itself when a long clip asks for it
   */
  readonly longClips: boolean;
  /** abar_t, t = 0..T-1 (float64) */
  private readonly abar: Float64Array;
  private readonly device: DeviceLoop | null; // the WebGPU sampler loop; null on WASM and in Node (engine's sample())

  private constructor(pack: LoadedPack, backend: Backend, ort: OrtModule) {
    this.manifest = pack.manifest;
    this.backend = backend;
    this.ort = ort;
    this.device = DeviceLoop.for(ort, backend);
    this.tokenizer = pack.tokenizer;
    this.graphs = packGraphs(pack.manifest);
    this.sessions = new PackSessions(pack.manifest, pack.graphs, pack.loader);
    this.loadReport = pack.report;
    this.longClips = this.sessions.loaded().filter((g) => g.kind !== 'text' && g.kind !== 'vae-encoder').every(timeAxisFree);
    const s = pack.manifest.schedule;
    this.abar = alphasCumprod(s.num_train_timesteps, s.beta_start, s.beta_end);
  }

  /**
   * Loads the pack (./pipeline-load.ts): validates the manifest, verifies and opens the text encoder,
   * one denoiser (`opts.denoiser`, else the pack's default; all with `opts.eager`), the VAE decoder
   * and the vocoder, one at a time; the rest load on first use. A pack problem: PackError naming the file.
   */
  static async load(opts: PipelineLoadOptions): Promise<Pipeline> {
    return new Pipeline(await loadPack(opts), opts.backend, opts.ort);
  }

  /**
   * The session of denoiser `id`, created on first use (downloaded, verified, cached, with
   * `onFile` progress; aborting `signal` stops the download). generate() calls it itself.
   */
  async ensureDenoiser(id: string, opts: GraphLoadOptions = {}): Promise<Graph> {
    this.checkAlive();
    findDenoiser(this.manifest, id);
    return this.sessions.ensure(this.packGraph('denoiser', id), opts);
  }

  /** Whether denoiser `id`'s session is created (false: its first use downloads it). */
  hasDenoiser(id: string): boolean {
    return this.graphs.some((g) => g.denoiserId === id && this.sessions.get(g) !== undefined);
  }

  /** The graphs not loaded yet and the bytes each one's first use downloads. */
  notLoaded(): NotLoaded[] {
    return this.sessions.notLoaded(this.graphs);
  }

  /** The prompt tokenizer of the pack (tokenizer.json + tokenizer_config.json). */
  get promptTokenizer(): PromptTokenizer {
    return this.tokenizer;
  }

  /**
   * k for the request's clip length (1: the pack's own). A longer clip needs graphs whose time
   * axis is free and no edit (inpainting and audio-to-audio work on the pack's length).
   */
  private clipMultipleFor(req: GenerateRequest, denoiser?: Graph): number {
    const k = clipMultiple(this.manifest, req.seconds);
    if (k === 1) return 1;
    const clip = this.manifest.audio.clip_seconds;
    if (!this.longClips || (denoiser && !timeAxisFree(denoiser))) {
      throw new InputError(
        `this pack's graphs are fixed at ${clip} s clips: free their time axis (python -m soundstep_factory.time_axis PACK_DIR) to make ${req.seconds} s`,
      );
    }
    if (req.edit) throw new InputError(`inpainting and audio-to-audio work on clips of the pack's own ${clip} s: choose ${clip} s`);
    return k;
  }

  /** Checks a request against the pack; throws an InputError saying what is wrong. */
  validateRequest(req: GenerateRequest): DenoiserSpec {
    return checkRequest(this.manifest, req);
  }

  /** One text-to-audio generation (numbered stages below). */
  async generate(req: GenerateRequest, opts: GenerateOptions = {}): Promise<GenerateResult> {
    this.checkAlive();
    const { signal, onProgress } = opts;
    const denoiser = this.validateRequest(req);
    this.clipMultipleFor(req); // a length this pack cannot make fails before any download
    // a denoiser not loaded yet is downloaded first (its files' progress goes to opts.onFile)
    const lengthK = this.clipMultipleFor(req, await this.ensureDenoiser(denoiser.id, opts));
    const guided = denoiser.role === 'teacher';
    const m = this.manifest;
    const timings = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
    // progress: { stage } as each stage starts; denoise reports step 0 of N, then each finished step
    const stage = async <T>(name: Stage, fn: () => Promise<T> | T): Promise<T> => {
      if (signal?.aborted) throw new CancelledError();
      if (name !== 'denoise') onProgress?.({ stage: name });
      const t0 = now();
      const out = await fn();
      timings[name] += now() - t0;
      return out;
    };

    // 1. Tokenize: the prompt (its two parts if it names an order, E23), then for a guided teacher
    //    the unconditional prompt "", which a negative prompt replaces (./request-checks.ts textRows).
    const { prompts, halves } = textRows(m, req, guided);
    const tokens = await stage('tokenize', () =>
      encodeBatch(this.tokenizer, prompts, m.text.max_tokens, m.text.pad_token_id),
    );
    const [batch, cond] = [prompts.length, tokens.rows[0]!]; // (the first part's row when split)

    // 2. Encode text: one batch of `batch` rows -> hidden [batch, L, H]. The pack's encoder is
    //    batch-invariant (int8 weights, float activations), so a row does not depend on its batch-mates.
    const hidden = await stage('encode', () => this.encodeText(tokens.inputIds, tokens.attentionMask, batch, signal));
    //    Audio-to-audio encodes its sound too (log-mel, then the VAE encoder), timed with 'encode'.
    const edit = req.edit;
    const encoded = edit?.kind === 'audio' ? await stage('encode', () => this.encodeAudio(edit.waveform, signal, opts)) : null;

    // 3. Denoise: sample() from z ~ N(0, I) at tau_0 on the trailing grid, guided for a teacher
    //    (docs/sampling.md E7, E8, E20); the denoiser sees the `batch` text rows encoded above.
    //    An edit keeps a latent outside a range (E21) or starts down the grid from a sound (E22).
    const { channels: C, frames: Tl, bins: F } = m.latent;
    const noise = gaussianNoise(req.seed, C * Tl * lengthK * F); // eps, z at tau_0, (1, C, k T, F) for a clip k times the pack's
    const plan = planDenoise(m, trailingGrid(req.steps, m.schedule.num_train_timesteps), this.abar, noise, edit, encoded);
    const grid = plan.grid;
    const evaluate = (z: Float32Array, t: number, rows: number): Promise<Float32Array> =>
      this.denoiseOnce(denoiser.id, z, t, hidden, tokens.attentionMask, rows, signal);
    const denoise: Denoise = halves ? splitDenoise(evaluate, [C, Tl * lengthK, F]) : evaluate; // E23
    const z = await stage('denoise', async () => {
      const progress = (step: number): void => onProgress?.({ stage: 'denoise', step, totalSteps: grid.length });
      progress(0);
      const [guidance, onStep] = [guided ? req.guidanceScale : undefined, (k: number): void => progress(k + 1)];
      // WebGPU, opt-in until a real GPU times it (./device-loop.ts runs()); inpainting's constrain (E21): sample()
      if (!halves && this.device?.runs(plan.constrain)) return this.device.sample({ denoiser: await this.ensureDenoiser(denoiser.id), hidden, mask: tokens.attentionMask, start: plan.start, dims: [C, Tl * lengthK, F], grid, abar: this.abar, guidance, onStep, signal });
      return sample(denoise, plan.start, grid, this.abar, guidance, onStep, plan.constrain);
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
      latent: z,
      ...(halves ? { timeSplit: halves } : {}),
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
      this.loadedGraph('text'),
      {
        input_ids: this.int64(inputIds, [batch, L]),
        attention_mask: this.int64(attentionMask, [batch, L]),
      },
      [batch, L, H],
      signal,
    );
  }

  /**
   * Sentence embeddings of `prompts` by the pack's text encoder: each prompt tokenized as for
   * generation, encoded in batches of `batchSize`, its last hidden state averaged over its real
   * tokens (engine/embedding.ts meanPool) -> one vector of text.hidden_size per prompt.
   */
  async embedPrompts(prompts: readonly string[], signal?: AbortSignal, batchSize = 8): Promise<Float32Array[]> {
    this.checkAlive();
    const { max_tokens: L, pad_token_id: pad, hidden_size: H } = this.manifest.text;
    const out: Float32Array[] = [];
    for (let from = 0; from < prompts.length; from += batchSize) {
      const chunk = prompts.slice(from, from + batchSize);
      const tokens = encodeBatch(this.tokenizer, chunk, L, pad);
      const hidden = await this.encodeText(tokens.inputIds, tokens.attentionMask, chunk.length, signal);
      out.push(...meanPool(hidden, tokens.attentionMask, chunk.length, H));
    }
    return out;
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
    const graph = await this.ensureDenoiser(denoiserId, { signal });
    const L = checkDenoiseInputs(this.manifest, { sample, timestep, hidden, mask, batch });
    const { channels: C, frames: packT, bins: F } = this.manifest.latent;
    const T = framesOf(this.manifest, sample.length, batch * C * F, packT, 'sample'); // k T for a longer clip
    const H = this.manifest.text.hidden_size;
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
    const { channels: C, frames: packT, bins: F, scale } = this.manifest.latent;
    const { frames: packFrames, n_mels: mels } = this.manifest.audio;
    checkLatent(this.manifest, z);
    const T = framesOf(this.manifest, z.length, C * F, packT, 'latent'); // k T for a longer clip
    const frames = (packFrames / packT) * T;
    const latent = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) latent[i] = z[i]! / scale;
    return this.run(this.loadedGraph('vae'), { latent: this.float32(latent, [1, C, T, F]) }, [1, 1, frames, mels], signal);
  }

  /**
   * VAE encoder on the pack's log-mel of `waveform` (mono, audio.sample_rate, audio.num_samples):
   * log_mel [1, 1, frames, mels] -> latent [1, C, T, F], the posterior mean times latent.scale.
   */
  async encodeAudio(waveform: Float32Array, signal?: AbortSignal, load: GraphLoadOptions = {}): Promise<Float32Array> {
    if (!this.manifest.vae_encoder) throw new Error('this pack has no vae_encoder');
    // loaded on first use: only audio-to-audio needs it
    const vaeEncoder = await this.sessions.ensure(this.packGraph('vae-encoder'), { ...load, signal });
    const { frames, n_mels: mels } = this.manifest.audio;
    const { channels: C, frames: T, bins: F } = this.manifest.latent;
    const mel = logMel(waveform, this.manifest.audio); // the factory's front end (mel.py)
    if (mel.frames !== frames) throw new Error(`the log-mel has ${mel.frames} frames, the pack's ${frames}`);
    return this.run(vaeEncoder, { log_mel: this.float32(mel.data, [1, 1, frames, mels]) }, [1, C, T, F], signal);
  }

  /** Vocoder: log_mel [1, 1, frames, mels] -> transposed to [1, mels, frames] -> waveform [1, samples]. */
  async vocode(logMel: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    const { frames: packFrames, n_mels: mels, hop_length: hop } = this.manifest.audio;
    const frames = framesOf(this.manifest, logMel.length, mels, packFrames, 'log_mel'); // k frames for a longer clip
    const samples = frames * hop;
    const input = transpose(logMel, frames, mels); // (frames, mels) -> (mels, frames)
    return this.run(this.loadedGraph('vocoder'), { log_mel: this.float32(input, [1, mels, frames]) }, [1, samples], signal);
  }

  /**
   * Runs each loaded session once on dummy inputs of the shapes generate() uses (./warm-up.ts),
   * so the user's first generation is not the slow one. Returns the milliseconds it took.
   */
  async warmUp(): Promise<number> {
    return warmUp(this);
  }

  /** Releases every session; the pipeline cannot be used afterwards. */
  async dispose(): Promise<void> {
    await this.device?.dispose();
    await this.sessions.dispose();
  }

  // -------------------------------------------------------------------------------------

  private checkAlive(): void {
    this.sessions.checkAlive();
  }

  /** The pack graph of `kind` (the denoiser `id` for denoisers). */
  private packGraph(kind: GraphKind, id?: string): PackGraph {
    const g = this.graphs.find((e) => e.kind === kind && (kind !== 'denoiser' || e.denoiserId === id));
    if (!g) throw new Error(`this pack has no ${kind} graph${id ? ` "${id}"` : ''}`);
    return g;
  }

  /** The session of a graph that is always loaded at load (text encoder, VAE decoder, vocoder). */
  private loadedGraph(kind: 'text' | 'vae' | 'vocoder'): Graph {
    const g = this.sessions.get(this.packGraph(kind));
    if (!g) throw new Error(`the ${kind} graph has no session`);
    return g;
  }

  private float32(data: Float32Array, dims: number[]): OrtTensor {
    return new this.ort.Tensor('float32', data, dims);
  }

  private int64(data: BigInt64Array, dims: number[]): OrtTensor {
    return new this.ort.Tensor('int64', data, dims);
  }

  /** Runs one session (chained after every other run and session create), checks the output's shape, copies it out. */
  private run(graph: Graph, feeds: Record<string, OrtTensor>, expected: number[], signal?: AbortSignal): Promise<Float32Array> {
    return this.sessions.run(graph, feeds, expected, signal);
  }
}
