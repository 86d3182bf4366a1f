// soundstep CLI: generate a WAV or benchmark the pipeline in Node, over the same Pipeline as the app.
// Usage: npx tsx src/cli/main.ts generate --pack public/models/soundstep-small-next --prompt "a dog barks" --out out.wav
//        npm run soundstep -- bench --pack public/models/soundstep-small-next --steps 200,25 --runs 3
// Backends: 'cpu' (onnxruntime-node, default) or 'wasm' (onnxruntime-web's WASM build under Node).

import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Backend, GenerateRequest } from '../runtime/api';
import { PackError } from '../runtime/errors';
import { PRECISION_PREFERENCES, parsePrecision, selectPackPrecision, type PrecisionChoice, type PrecisionPreference } from '../runtime/graphs';
import { fsFetchFile } from '../runtime/fs-fetch';
import type { DenoiserSpec, Manifest } from '../runtime/manifest';
import type { OrtModule } from '../runtime/ort';
import { Pipeline } from '../runtime/pipeline';
import { benchRequest, defaultBenchCases, formatBenchTable, ms, runBench, totalMs, type BenchCase } from '../bench/bench-table';
import { formatProfile, profilePack, readManifest, type ProfileTarget } from './profile';
import { encodeWav } from '../engine/wav';
import type { SessionOptionsLike } from '../runtime/session-options';
import { DEFAULT_PACK_URL } from '../store/initialState';

/** The page's default pack, on disk. */
const DEFAULT_PACK_DIR = `public/${DEFAULT_PACK_URL}`;

const HELP = `soundstep: text-to-audio latent diffusion, in Node

Usage:
  soundstep generate --pack DIR --prompt TEXT --out FILE.wav [options]
  soundstep bench    --pack DIR [options]
  soundstep info     --pack DIR
  soundstep profile  --pack DIR [--denoiser ID,ID] [--runs N] [--backend B] [--threads N] [--precision P]
  soundstep --help

Options:
  --pack DIR         model pack folder (default public/models/soundstep-small-next)
  --prompt TEXT      what to hear (bench default: "a dog barks")
  --denoiser ID      a denoiser of the pack (generate default: the first listed, usually the teacher;
                     bench: a comma list, default the teacher at its most steps and the default student)
  --steps N          sampling steps (generate; default 25 for a teacher, a student's own N)
  --steps N,N,...    step counts to compare (bench; default: each denoiser's listed steps)
  --guidance S       classifier-free guidance scale, teacher only (default: the pack's, 3)
  --seed N           noise seed (default 0)
  --seconds S        clip length (generate): a whole multiple of the pack's clip up to 10.24 s, for a
                     pack whose graphs take longer latents (default: the pack's own, 2.56 s)
  --whole-prompt     generate: sample "X followed by Y" / "Y after X" as one prompt, not in two halves
                     (docs/sampling.md E23; the default splits it, as the app does)
  --out FILE         WAV file to write (generate)
  --runs N           timed runs per step count after one warm-up (bench; default 3;
                     profile: evaluations per graph, default 20)
  --backend B        cpu (onnxruntime-node, default) or wasm (onnxruntime-web in Node)
  --precision P      auto (default: as the page chooses, so int8 variants on wasm), float32, float16 or int8
  --threads N        threads for ONNX Runtime (default: all cores)
  --opt LEVEL        profile: ONNX Runtime's graph optimization level (disabled, basic, extended, all)
  --fixed-shapes     profile: fix each graph's batch and token dimensions (freeDimensionOverrides;
                     onnxruntime-web only, onnxruntime-node ignores it)
  -h, --help         this text

Examples:
  npm run soundstep -- generate --pack public/models/soundstep-small-next --prompt "a dog barks" --out dog.wav
  npm run soundstep -- bench --pack public/models/soundstep-small-next --denoiser teacher --steps 200,25 --runs 3
`;

class UsageError extends Error {}

const OPTIONS = {
  pack: { type: 'string' },
  prompt: { type: 'string' },
  denoiser: { type: 'string' },
  steps: { type: 'string' },
  guidance: { type: 'string' },
  seed: { type: 'string' },
  seconds: { type: 'string' },
  'whole-prompt': { type: 'boolean' },
  out: { type: 'string' },
  runs: { type: 'string' },
  backend: { type: 'string' },
  precision: { type: 'string' },
  threads: { type: 'string' },
  opt: { type: 'string' },
  'fixed-shapes': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function int(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || value.trim() === '') {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

function float(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!Number.isFinite(x) || value.trim() === '') throw new UsageError(`--${flag} must be a number, got "${value}"`);
  return x;
}

function pickDenoiser(manifest: Manifest, id: string | undefined): DenoiserSpec {
  const d = id === undefined ? manifest.denoisers[0] : manifest.denoisers.find((e) => e.id === id);
  if (!d) {
    throw new UsageError(`--denoiser "${id}" is not in this pack (it has: ${manifest.denoisers.map((e) => e.id).join(', ')})`);
  }
  return d;
}

async function loadOrt(backend: Backend, threads: number): Promise<{ ort: OrtModule; sessionOptions: SessionOptionsLike }> {
  if (backend === 'cpu') {
    const mod = (await import('onnxruntime-node')) as unknown as OrtModule & { default?: OrtModule };
    const ort = mod.InferenceSession ? mod : mod.default;
    if (!ort?.InferenceSession) throw new Error('onnxruntime-node exports no InferenceSession');
    return { ort, sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: threads } };
  }
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = threads;
  return { ort: web, sessionOptions: { executionProviders: ['wasm'] } };
}

/** The pack; `eager`: every denoiser up front (bench times runs, not downloads), else one and the rest on first use. */
async function load(flags: Flags, eager = false): Promise<Pipeline> {
  const backend = flags.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'wasm') throw new UsageError(`--backend must be cpu or wasm, got "${backend}"`);
  const threads = int(flags.threads, 'threads', availableParallelism(), 1);
  const { ort, sessionOptions } = await loadOrt(backend, threads);
  const dir = flags.pack ?? DEFAULT_PACK_DIR;
  const t0 = performance.now();
  // onnxruntime-node has no `externalData` option: it reads a graph's external data from the
  // files next to the graph when the session is created from the graph's path.
  const modelPath = backend === 'cpu' ? (file: string) => join(resolve(dir), ...file.split('/')) : undefined;
  const preference = precisionFlag(flags.precision);
  let chosen: PrecisionChoice | undefined;
  const precision = (m: Manifest): PrecisionChoice['dtype'] => {
    chosen = selectPackPrecision(m, { backend, shaderF16: false, preference });
    return chosen.dtype;
  };
  const pipeline = await Pipeline.load({ ort, backend, fetchFile: fsFetchFile(dir), sessionOptions, modelPath, eager, precision });
  const m = pipeline.manifest;
  console.error(
    `loaded ${m.id} from ${dir} on ${backend} (${threads} thread${threads === 1 ? '' : 's'}; ${chosen?.reason ?? 'float32 weights'}) ` +
      `in ${ms(performance.now() - t0)} ms`,
  );
  return pipeline;
}

function precisionFlag(value: string | undefined): PrecisionPreference {
  const found = parsePrecision(value ?? 'auto');
  if (!found) throw new UsageError(`--precision must be ${PRECISION_PREFERENCES.join(', ')}, got "${value}"`);
  return found;
}

function request(flags: Flags, manifest: Manifest, steps?: number): GenerateRequest {
  const d = pickDenoiser(manifest, flags.denoiser);
  const defaultSteps = d.role === 'student' ? d.steps[0] : 25;
  const defaultScale = d.guidance.type === 'classifier-free' ? d.guidance.default_scale : 1;
  return {
    prompt: flags.prompt ?? 'a dog barks',
    denoiserId: d.id,
    steps: steps ?? int(flags.steps, 'steps', defaultSteps, 1),
    guidanceScale: float(flags.guidance, 'guidance', defaultScale),
    seed: int(flags.seed, 'seed', 0),
    // the pipeline checks the length against the pack and says which lengths it makes
    ...(flags.seconds === undefined ? {} : { seconds: float(flags.seconds, 'seconds', manifest.audio.clip_seconds) }),
    ...(flags['whole-prompt'] ? { splitInTime: false } : {}),
  };
}

function rms(x: Float32Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum / Math.max(1, x.length));
}

async function generate(flags: Flags): Promise<void> {
  if (flags.prompt === undefined) throw new UsageError('generate needs --prompt TEXT');
  if (flags.out === undefined) throw new UsageError('generate needs --out FILE.wav');
  const pipeline = await load(flags);
  try {
    const req = request(flags, pipeline.manifest);
    pipeline.validateRequest(req);
    const result = await pipeline.generate(req, {
      onProgress: (p) => {
        if (!process.stderr.isTTY) return;
        if (p.stage === 'denoise' && p.step !== undefined) process.stderr.write(`\rdenoise ${p.step}/${p.totalSteps}`);
        if (p.stage === 'decode') process.stderr.write('\n');
      },
    });
    await writeFile(flags.out, encodeWav(result.waveform, result.sampleRate));
    const seconds = result.waveform.length / result.sampleRate;
    console.log(
      `wrote ${flags.out}: ${seconds.toFixed(2)} s at ${result.sampleRate} Hz, RMS ${rms(result.waveform).toFixed(4)}; ` +
        `${req.denoiserId} ${req.steps} steps, ${result.networkEvaluations} network evaluations, ${ms(totalMs(result))} ms` +
        (result.timeSplit ? `; in two halves: "${result.timeSplit[0]}", then "${result.timeSplit[1]}"` : '') +
        (result.truncated ? `; prompt truncated (${result.tokenCount} tokens > ${pipeline.manifest.text.max_tokens})` : ''),
    );
  } finally {
    await pipeline.dispose();
  }
}

/**
 * The rows of `bench`: each --denoiser (comma list) at each --steps (comma list, default the
 * denoiser's listed steps); no --denoiser: defaultBenchCases (teacher-200 vs the default student).
 */
export function benchCases(m: Manifest, flags: Pick<Flags, 'denoiser' | 'steps'>): BenchCase[] {
  const stepList = flags.steps?.split(',').map((s) => int(s.trim(), 'steps', 0, 1));
  if (flags.denoiser === undefined) return defaultBenchCases(m, stepList);
  return flags.denoiser.split(',').flatMap((id) => {
    const d = pickDenoiser(m, id.trim());
    return (stepList ?? d.steps).map((steps) => ({ denoiserId: d.id, steps }));
  });
}

async function bench(flags: Flags): Promise<void> {
  const pipeline = await load(flags, true);
  try {
    const m = pipeline.manifest;
    const cases = benchCases(m, flags);
    const runs = int(flags.runs, 'runs', 3, 1);
    const opts = {
      prompt: flags.prompt ?? 'a dog barks',
      seed: int(flags.seed, 'seed', 0),
      runs,
      guidanceScale: flags.guidance === undefined ? undefined : float(flags.guidance, 'guidance', 1),
    };
    for (const c of cases) pipeline.validateRequest(benchRequest(m, c, opts));
    const clip = m.audio.num_samples / m.audio.sample_rate;
    console.log(`${m.id} on ${pipeline.backend}, ${clip} s clips; median ms over ${runs} run${runs === 1 ? '' : 's'} after 1 warm-up`);
    console.log(formatBenchTable(await runBench(pipeline, cases, opts)));
  } finally {
    await pipeline.dispose();
  }
}

/** Each graph alone: ms per evaluation and ONNX Runtime's per-operator profile. */
async function profile(flags: Flags): Promise<void> {
  const backend = flags.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'wasm') throw new UsageError(`--backend must be cpu or wasm, got "${backend}"`);
  const threads = int(flags.threads, 'threads', availableParallelism(), 1);
  const { ort, sessionOptions } = await loadOrt(backend, threads);
  const packDir = flags.pack ?? DEFAULT_PACK_DIR;
  const m = await readManifest(packDir);
  // default: the pack's default student and its teacher
  const fallback = [m.default_denoiser ?? m.denoisers.find((d) => d.role === 'student')?.id, m.denoisers.find((d) => d.role === 'teacher')?.id];
  const denoiserIds =
    flags.denoiser?.split(',').map((s) => s.trim()) ?? [...new Set(fallback.filter((id): id is string => id !== undefined))];
  const runs = int(flags.runs, 'runs', 20, 1);
  const precision = selectPackPrecision(m, { backend, shaderF16: false, preference: precisionFlag(flags.precision) });
  console.log(`${m.id} on ${backend} (${threads} thread${threads === 1 ? '' : 's'}), median of ${runs} evaluations after 1 warm-up`);
  console.log(precision.reason);
  const opt = flags.opt ?? 'all';
  if (!['disabled', 'basic', 'extended', 'all'].includes(opt)) {
    throw new UsageError(`--opt must be disabled, basic, extended or all, got "${opt}"`);
  }
  const fixed = flags['fixed-shapes'] === true;
  console.log(`graph optimization ${opt}${fixed ? ', shapes fixed (B, L)' : ''}`);
  const optionsFor = (t: ProfileTarget): object => ({
    ...sessionOptions,
    graphOptimizationLevel: opt,
    ...(fixed ? { freeDimensionOverrides: { B: t.batch, L: m.text.max_tokens } } : {}),
  });
  const rows = await profilePack({ ort, backend, packDir, sessionOptions: optionsFor, runs, denoiserIds, dtype: precision.dtype });
  console.log(formatProfile(rows));
}

async function info(flags: Flags): Promise<void> {
  const pipeline = await load(flags);
  try {
    const m = pipeline.manifest;
    console.log(`${m.id}: ${m.name} (${m.format}, factory ${m.factory.revision}, recipe ${m.factory.recipe})`);
    console.log(`audio: ${m.audio.clip_seconds} s at ${m.audio.sample_rate} Hz; latent ${m.latent.channels}x${m.latent.frames}x${m.latent.bins}`);
    console.log(`text: ${m.text.model}, ${m.text.max_tokens} tokens`);
    for (const d of m.denoisers) {
      console.log(`denoiser ${d.id}: ${d.role}${d.method ? ` (${d.method})` : ''}, steps ${d.steps.join('/')}, guidance ${d.guidance.type}`);
    }
  } finally {
    await pipeline.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n(see --help)`);
    return 2;
  }
  const flags = parsed.values as Flags;
  const [command, ...extra] = parsed.positionals;
  if (flags.help || command === undefined || command === 'help') {
    console.log(HELP);
    return command === undefined && !flags.help ? 2 : 0;
  }
  try {
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (quote a prompt with spaces)`);
    if (command === 'generate') await generate(flags);
    else if (command === 'bench') await bench(flags);
    else if (command === 'info') await info(flags);
    else if (command === 'profile') await profile(flags);
    else throw new UsageError(`unknown command "${command}" (generate, bench, info, profile)`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n(see --help)`);
      return 2;
    }
    if (e instanceof PackError) {
      console.error(`error: pack file ${e.message}`);
      return 1;
    }
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

// run only as the entry point (tests import main() without running it)
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(resolve(entry)).href) {
  process.exitCode = await main(process.argv.slice(2));
}
