// `soundstep profile`: each graph of a pack timed alone with the inputs a generation gives it
// (the text encoder and a student at batch 1, the guided teacher at batch 2, the VAE decoder and
// the vocoder), then ONNX Runtime's per-operator profile of those runs. onnxruntime-node writes
// the profile to a file; onnxruntime-web's WASM module prints it to standard output, which the
// command takes aside (captureStdout).

import fs from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from '../bench/bench-table';
import { gaussianNoise } from '../engine/rng';
import { chooseSource, packGraphs, type WeightDtype } from '../runtime/graphs';
import type { Manifest } from '../runtime/manifest';
import { validateManifest } from '../runtime/manifest';
import type { OrtModule, OrtSession, OrtTensor } from '../runtime/ort';
import { PromptTokenizer, type EncodedPrompt } from '../runtime/tokenizer';
import { opTimes, summarize, type OpSummary } from './profile-trace';

/** One graph to profile and the feeds of one evaluation. */
export interface ProfileTarget {
  label: string;
  file: string;
  /** the batch a generation runs it at */
  batch: number;
  feeds: (ort: OrtModule) => Record<string, OrtTensor>;
}

export interface ProfileRow {
  label: string;
  file: string;
  /** median wall ms of one evaluation (session.run, inputs to outputs) */
  medianMs: number;
  /** ONNX Runtime's per-operator profile of `runs` further evaluations */
  ops: OpSummary;
}

/** The prompt every profile encodes: short, and a sound every pack's vocabulary is likely to know. */
export const PROFILE_PROMPT = 'a dog barks';

/** `prompt` encoded by the pack's own tokenizer (BERT WordPiece, T5 Unigram, ...), padded to its length. */
export async function encodeProfilePrompt(packDir: string, m: Manifest, prompt = PROFILE_PROMPT): Promise<EncodedPrompt> {
  const read = async (file: string) => new Uint8Array(await readFile(join(resolve(packDir), ...file.split('/'))));
  const tokenizer = PromptTokenizer.fromBytes(await read(m.text.tokenizer), await read(m.text.tokenizer_config));
  return tokenizer.encodePrompt(prompt, m.text.max_tokens, m.text.pad_token_id);
}

/** `row` repeated `batch` times: int64 [batch, L]. */
function stackRows(row: BigInt64Array, batch: number): BigInt64Array {
  const x = new BigInt64Array(batch * row.length);
  for (let r = 0; r < batch; r++) x.set(row, r * row.length);
  return x;
}

/**
 * What a generation feeds each graph: batch 2 for the guided teacher, 1 otherwise; the text
 * encoder and the denoisers' attention masks see `prompt` (encodeProfilePrompt). Each graph is
 * the file the app loads in `dtype` (its variant where the pack has one, else its float32 file).
 */
export function profileTargets(
  m: Manifest,
  denoiserIds: readonly string[],
  prompt: EncodedPrompt,
  dtype: WeightDtype = 'float32',
): ProfileTarget[] {
  const chosen = new Map(packGraphs(m).map((g) => [g.float32.file, chooseSource(g, dtype).file]));
  // the variant's file where there is one, labelled with its dtype
  const graph = (file: string, label: string) => {
    const picked = chosen.get(file) ?? file;
    return { file: picked, label: picked === file ? label : `${label} ${dtype}` };
  };
  const L = m.text.max_tokens;
  const H = m.text.hidden_size;
  const { channels: C, frames: T, bins: F } = m.latent;
  if (prompt.inputIds.length !== L) throw new Error(`the profile prompt has ${prompt.inputIds.length} tokens; the pack's text encoder takes ${L}`);
  const ids = (batch: number) => stackRows(prompt.inputIds, batch);
  const mask = (batch: number) => stackRows(prompt.attentionMask, batch);
  const text: ProfileTarget = {
    ...graph(m.text.encoder, 'text encoder (batch 1)'),
    batch: 1,
    feeds: (ort) => ({
      input_ids: new ort.Tensor('int64', ids(1), [1, L]),
      attention_mask: new ort.Tensor('int64', mask(1), [1, L]),
    }),
  };
  const denoisers = denoiserIds.map((id): ProfileTarget => {
    const d = m.denoisers.find((e) => e.id === id);
    if (!d) throw new Error(`denoiser "${id}" is not in this pack (it has: ${m.denoisers.map((e) => e.id).join(', ')})`);
    const batch = d.role === 'teacher' ? 2 : 1;
    return {
      ...graph(d.file, `${id} (batch ${batch})`),
      batch,
      feeds: (ort) => ({
        sample: new ort.Tensor('float32', gaussianNoise(1, batch * C * T * F), [batch, C, T, F]),
        timestep: new ort.Tensor('int64', new BigInt64Array(batch).fill(500n), [batch]),
        encoder_hidden_states: new ort.Tensor('float32', gaussianNoise(2, batch * L * H), [batch, L, H]),
        encoder_attention_mask: new ort.Tensor('int64', mask(batch), [batch, L]),
      }),
    };
  });
  const vae: ProfileTarget = {
    ...graph(m.vae_decoder.file, 'VAE decoder'),
    batch: 1,
    feeds: (ort) => ({ latent: new ort.Tensor('float32', gaussianNoise(3, C * T * F), [1, C, T, F]) }),
  };
  const vocoder: ProfileTarget = {
    ...graph(m.vocoder.file, 'vocoder'),
    batch: 1,
    feeds: (ort) => ({
      log_mel: new ort.Tensor('float32', gaussianNoise(4, m.audio.n_mels * m.audio.frames).map((x) => x - 5), [
        1,
        m.audio.n_mels,
        m.audio.frames,
      ]),
    }),
  };
  return [text, ...denoisers, vae, vocoder];
}

/** A session that can end ORT's profile (onnxruntime-node writes a file, onnxruntime-web prints it). */
type ProfilingSession = OrtSession & { endProfiling?: () => unknown };

export interface ProfileOptions {
  ort: OrtModule;
  /** 'cpu': onnxruntime-node, sessions from file paths; 'wasm': onnxruntime-web, from bytes */
  backend: 'cpu' | 'wasm';
  packDir: string;
  /** session options per graph (e.g. shapes fixed to the target's batch) */
  sessionOptions: (target: ProfileTarget) => object;
  runs: number;
  denoiserIds: readonly string[];
  /** which of each graph's files: its float32 file, or its variant in this dtype where it has one */
  dtype?: WeightDtype;
}

/** Reads and validates the pack's manifest. */
export async function readManifest(packDir: string): Promise<Manifest> {
  return validateManifest(JSON.parse(await readFile(join(resolve(packDir), 'manifest.json'), 'utf8')) as unknown);
}

/** Times and profiles every target: one warm-up run, then `runs` timed runs. */
export async function profilePack(opts: ProfileOptions): Promise<ProfileRow[]> {
  const { ort, backend, packDir, runs } = opts;
  const manifest = await readManifest(packDir);
  const prompt = await encodeProfilePrompt(packDir, manifest);
  const rows: ProfileRow[] = [];
  for (const target of profileTargets(manifest, opts.denoiserIds, prompt, opts.dtype)) {
    const path = join(resolve(packDir), ...target.file.split('/'));
    const model = backend === 'cpu' ? path : new Uint8Array(await readFile(path));
    // the profiler slows each kernel down a little, so the times come from a session without it
    const session = await ort.InferenceSession.create(model, opts.sessionOptions(target));
    const feeds = target.feeds(opts.ort);
    const times: number[] = [];
    await session.run(feeds);
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    await session.release();
    const ops = await operatorProfile(opts, target, model, feeds);
    rows.push({ label: target.label, file: target.file, medianMs: median(times), ops });
  }
  return rows;
}

/**
 * What `fn` writes to standard output, kept off it. In Node, onnxruntime-web's WASM module
 * (Emscripten) prints with fs.writeSync(1, ...), and that is where its profile goes: the module's
 * own file system is not Node's.
 */
export async function captureStdout(fn: () => unknown): Promise<string> {
  const node = fs as { writeSync: typeof fs.writeSync };
  const write = node.writeSync;
  const chunks: string[] = [];
  node.writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: never[]) => {
    if (fd !== 1) return (write as (...a: unknown[]) => number)(fd, data, ...rest);
    const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString();
    chunks.push(text);
    return Buffer.byteLength(text);
  }) as typeof fs.writeSync;
  try {
    await fn();
  } finally {
    node.writeSync = write;
  }
  return chunks.join('');
}

/** The JSON array of events in what a WASM session printed (other lines may come before it). */
export function traceFromPrinted(text: string): unknown {
  const start = text.indexOf('[');
  const end = text.lastIndexOf(']');
  if (start < 0 || end < start) throw new Error('onnxruntime-web printed no profile (is enableProfiling supported by this build?)');
  return JSON.parse(text.slice(start, end + 1)) as unknown;
}

/** ORT's profiler on a fresh session: warm-up, `runs` runs, then the per-operator sums of those runs. */
async function operatorProfile(
  opts: ProfileOptions,
  target: ProfileTarget,
  model: string | Uint8Array,
  feeds: Record<string, OrtTensor>,
): Promise<OpSummary> {
  // onnxruntime-node writes the trace into a folder of ours; onnxruntime-web prints it (captureStdout)
  const traceDir = opts.backend === 'cpu' ? await mkdtemp(join(tmpdir(), 'soundstep-profile-')) : undefined;
  const prefix = traceDir ? join(traceDir, 'profile') : undefined;
  const session = (await opts.ort.InferenceSession.create(model, {
    ...opts.sessionOptions(target),
    enableProfiling: true,
    ...(prefix ? { profileFilePrefix: prefix } : {}),
  })) as ProfilingSession;
  try {
    await session.run(feeds);
    for (let i = 0; i < opts.runs; i++) await session.run(feeds);
    let trace: unknown;
    if (traceDir) {
      // onnxruntime-node writes <prefix>_<date>.json and returns nothing
      session.endProfiling?.();
      const name = (await readdir(traceDir)).find((f) => f.startsWith('profile_'));
      if (!name) throw new Error(`ONNX Runtime wrote no profile into ${traceDir}`);
      trace = JSON.parse(await readFile(join(traceDir, name), 'utf8')) as unknown;
    } else {
      trace = traceFromPrinted(await captureStdout(() => session.endProfiling?.()));
    }
    // the warm-up's kernels are in the trace too: runs + 1 evaluations
    return summarize(opTimes(trace), opts.runs + 1);
  } finally {
    await session.release();
    if (traceDir) await rm(traceDir, { recursive: true, force: true });
  }
}

/** The profile as text: one line per graph, then its top operators. */
export function formatProfile(rows: readonly ProfileRow[]): string {
  const lines: string[] = [];
  const width = Math.max(...rows.map((r) => r.label.length));
  for (const r of rows) {
    const kernels = `; kernels ${r.ops.kernelMs.toFixed(2)} ms, ${r.ops.kernelsPerRun.toFixed(0)} per run`;
    lines.push(`${r.label.padEnd(width)}  ${r.medianMs.toFixed(2).padStart(8)} ms per evaluation${kernels}`);
    for (const o of r.ops.top) {
      lines.push(
        `    ${o.op.padEnd(24)} ${(100 * o.share).toFixed(1).padStart(5)}%  ${o.ms.toFixed(3).padStart(8)} ms  ${o.calls.toFixed(0).padStart(4)} kernels`,
      );
    }
  }
  return lines.join('\n');
}
