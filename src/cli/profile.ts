// `soundstep profile`: each graph of a pack timed alone with the inputs a generation gives it
// (the text encoder and a student at batch 1, the guided teacher at batch 2, the VAE decoder and
// the vocoder), and on onnxruntime-node ONNX Runtime's per-operator profile of those runs.
// onnxruntime-web writes its profile into the WASM module's own file system, where Node cannot
// read it, so on 'wasm' the command reports times only.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gaussianNoise } from '../engine/rng';
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
  /** the per-operator profile (onnxruntime-node only) */
  ops?: OpSummary;
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
 * encoder and the denoisers' attention masks see `prompt` (encodeProfilePrompt).
 */
export function profileTargets(m: Manifest, denoiserIds: readonly string[], prompt: EncodedPrompt): ProfileTarget[] {
  const L = m.text.max_tokens;
  const H = m.text.hidden_size;
  const { channels: C, frames: T, bins: F } = m.latent;
  if (prompt.inputIds.length !== L) throw new Error(`the profile prompt has ${prompt.inputIds.length} tokens; the pack's text encoder takes ${L}`);
  const ids = (batch: number) => stackRows(prompt.inputIds, batch);
  const mask = (batch: number) => stackRows(prompt.attentionMask, batch);
  const text: ProfileTarget = {
    label: 'text encoder (batch 1)',
    file: m.text.encoder,
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
      label: `${id} (batch ${batch})`,
      file: d.file,
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
    label: 'VAE decoder',
    file: m.vae_decoder.file,
    batch: 1,
    feeds: (ort) => ({ latent: new ort.Tensor('float32', gaussianNoise(3, C * T * F), [1, C, T, F]) }),
  };
  const vocoder: ProfileTarget = {
    label: 'vocoder',
    file: m.vocoder.file,
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A session that can write ORT's profile (onnxruntime-node returns the file's path). */
type ProfilingSession = OrtSession & { endProfiling?: () => unknown };

export interface ProfileOptions {
  ort: OrtModule;
  /** 'cpu': sessions from file paths, with the profiler; 'wasm': from bytes, times only */
  backend: 'cpu' | 'wasm';
  packDir: string;
  /** session options per graph (e.g. shapes fixed to the target's batch) */
  sessionOptions: (target: ProfileTarget) => object;
  runs: number;
  denoiserIds: readonly string[];
}

/** Reads and validates the pack's manifest. */
export async function readManifest(packDir: string): Promise<Manifest> {
  return validateManifest(JSON.parse(await readFile(join(resolve(packDir), 'manifest.json'), 'utf8')) as unknown);
}

/** Times (and on 'cpu' profiles) every target: one warm-up run, then `runs` timed runs. */
export async function profilePack(opts: ProfileOptions): Promise<ProfileRow[]> {
  const { ort, backend, packDir, runs } = opts;
  const manifest = await readManifest(packDir);
  const prompt = await encodeProfilePrompt(packDir, manifest);
  const traceDir = backend === 'cpu' ? await mkdtemp(join(tmpdir(), 'soundstep-profile-')) : undefined;
  const rows: ProfileRow[] = [];
  try {
    for (const target of profileTargets(manifest, opts.denoiserIds, prompt)) {
      const path = join(resolve(packDir), ...target.file.split('/'));
      // the warm-up run is profiled too: a session's profile starts at creation, so it is timed
      // apart and its kernels are left out below by profiling a second session
      const session = (await ort.InferenceSession.create(
        backend === 'cpu' ? path : new Uint8Array(await readFile(path)),
        opts.sessionOptions(target),
      )) as ProfilingSession;
      const feeds = target.feeds(opts.ort);
      const times: number[] = [];
      await session.run(feeds);
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        times.push(performance.now() - t0);
      }
      await session.release();
      const row: ProfileRow = { label: target.label, file: target.file, medianMs: median(times) };
      if (traceDir) row.ops = await operatorProfile(opts, target, path, feeds, traceDir);
      rows.push(row);
    }
  } finally {
    if (traceDir) await rm(traceDir, { recursive: true, force: true });
  }
  return rows;
}

/** ORT's profiler on a fresh session: warm-up, `runs` runs, then the per-operator sums of those runs. */
async function operatorProfile(
  opts: ProfileOptions,
  target: ProfileTarget,
  path: string,
  feeds: Record<string, OrtTensor>,
  traceDir: string,
): Promise<OpSummary> {
  const prefix = join(traceDir, target.label.replace(/[^a-z0-9]+/gi, '_'));
  const session = (await opts.ort.InferenceSession.create(path, {
    ...opts.sessionOptions(target),
    enableProfiling: true,
    profileFilePrefix: prefix,
  })) as ProfilingSession;
  try {
    await session.run(feeds);
    for (let i = 0; i < opts.runs; i++) await session.run(feeds);
    // onnxruntime-node writes <prefix>_<date>.json and returns nothing
    session.endProfiling?.();
    const name = (await readdir(traceDir)).find((f) => join(traceDir, f).startsWith(`${prefix}_`));
    if (!name) throw new Error(`ONNX Runtime wrote no profile next to ${prefix}`);
    const ops = opTimes(JSON.parse(await readFile(join(traceDir, name), 'utf8')) as unknown);
    // the warm-up's kernels are in the trace too: runs + 1 evaluations
    return summarize(ops, opts.runs + 1);
  } finally {
    await session.release();
  }
}

/** The profile as text: one line per graph, then its top operators (cpu). */
export function formatProfile(rows: readonly ProfileRow[]): string {
  const lines: string[] = [];
  const width = Math.max(...rows.map((r) => r.label.length));
  for (const r of rows) {
    const kernels = r.ops ? `; kernels ${r.ops.kernelMs.toFixed(2)} ms, ${r.ops.kernelsPerRun.toFixed(0)} per run` : '';
    lines.push(`${r.label.padEnd(width)}  ${r.medianMs.toFixed(2).padStart(8)} ms per evaluation${kernels}`);
    for (const o of r.ops?.top ?? []) {
      lines.push(
        `    ${o.op.padEnd(24)} ${(100 * o.share).toFixed(1).padStart(5)}%  ${o.ms.toFixed(3).padStart(8)} ms  ${o.calls.toFixed(0).padStart(4)} kernels`,
      );
    }
  }
  return lines.join('\n');
}
