// Benchmark: one denoiser evaluation of a pack, batch 1, at the pack's latent and at shortened
// latent lengths, in onnxruntime-node (CPU) or onnxruntime-web's WASM build under Node (the
// browser's runtime and its 4 GB address space). Prints JSON numbers (never pass/fail: the machine
// is shared). Used for the Tango-size pack (docs/tango.md), whose teacher takes any latent length.
// Usage: npx tsx src/cli/bench-denoiser.ts PACK [--file denoisers/teacher.onnx] [--frames 256,16]
//        [--repeats 3] [--threads 2] [--runtime node|wasm] [--optimization all|disabled|no-folding]
//        [--against OTHER.onnx]
// --against times a second graph in the same process, the two alternating run by run, and prints
// each one's median and their ratio: an A/B that the machine's drift affects alike (docs/speed.md).
// --optimization disabled or no-folding keeps int8-stored weights int8 in memory: ONNX Runtime's
// constant folding would otherwise turn their Cast and Mul back into float32 initializers at load.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { median } from '../bench/bench-table';

type Runtime = 'node' | 'wasm';
type Optimization = 'all' | 'disabled' | 'no-folding';
interface Options {
  pack: string; file: string; frames: number[] | null; repeats: number; threads: number;
  runtime: Runtime; optimization: Optimization; against: string | null;
}

export function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const pack = argv.find((a, i) => !a.startsWith('--') && (i === 0 || !argv[i - 1]?.startsWith('--')));
  if (!pack) throw new Error('usage: npx tsx src/cli/bench-denoiser.ts PACK [--file F] [--frames 256,16] [--repeats N] [--threads N]');
  const frames = value('--frames');
  return {
    pack,
    file: value('--file') ?? 'denoisers/teacher.onnx',
    frames: frames ? frames.split(',').map(Number) : null,
    repeats: Number(value('--repeats') ?? 3),
    threads: Number(value('--threads') ?? 2),
    runtime: oneOf(value('--runtime') ?? 'node', ['node', 'wasm'] as const, '--runtime'),
    optimization: oneOf(value('--optimization') ?? 'all', ['all', 'disabled', 'no-folding'] as const, '--optimization'),
    against: value('--against') ?? null,
  };
}

function oneOf<T extends string>(given: string, allowed: readonly T[], flag: string): T {
  const found = allowed.find((a) => a === given);
  if (!found) throw new Error(`${flag} must be one of ${allowed.join(', ')}, got "${given}"`);
  return found;
}

interface LatentShape { channels: number; frames: number; bins: number }
interface PackText { max_tokens: number; hidden_size: number }

/** Seconds per run of `run`, after one untimed warm-up run (first-run allocations). */
async function secondsPerRun(run: () => Promise<unknown>, repeats: number): Promise<number> {
  await run();
  const started = performance.now();
  for (let i = 0; i < repeats; i++) await run();
  return (performance.now() - started) / 1000 / repeats;
}

/**
 * Seconds per run of each of `runs`, taken in turn run by run (after one untimed warm-up each), so
 * that a machine slowing down or speeding up meanwhile weighs on all of them alike: the medians.
 */
export async function alternatingMedians(runs: ReadonlyArray<() => Promise<unknown>>, repeats: number): Promise<number[]> {
  for (const run of runs) await run();
  const times = runs.map((): number[] => []);
  for (let i = 0; i < repeats; i++) {
    for (const [k, run] of runs.entries()) {
      const t0 = performance.now();
      await run();
      times[k]!.push((performance.now() - t0) / 1000);
    }
  }
  return times.map(median);
}

/** Deterministic inputs of one batch-1 evaluation at `frames` latent frames. */
function feeds(latent: LatentShape, text: PackText, frames: number): Record<string, ort.Tensor> {
  const size = latent.channels * frames * latent.bins;
  const hidden = text.max_tokens * text.hidden_size;
  return {
    sample: new ort.Tensor('float32', Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37)),
      [1, latent.channels, frames, latent.bins]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([500n]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: hidden }, (_, i) => Math.cos(i * 0.11)),
      [1, text.max_tokens, text.hidden_size]),
    encoder_attention_mask: new ort.Tensor('int64', BigInt64Array.from({ length: text.max_tokens }, (_, i) => (i < 8 ? 1n : 0n)),
      [1, text.max_tokens]),
  };
}

/** The manifest's shapes; Tango's while an export is still under way (no manifest.json yet). */
function readShapes(pack: string): { latent: LatentShape; text: PackText } {
  const file = join(pack, 'manifest.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { latent: LatentShape; text: PackText };
  return { latent: { channels: 8, frames: 256, bins: 16 }, text: { max_tokens: 64, hidden_size: 1024 } };
}

/** Session options for `optimization`: no-folding is every optimization but constant folding. */
function optimizationOptions(o: Optimization): { graphOptimizationLevel: 'all' | 'disabled'; extra?: Record<string, unknown> } {
  if (o !== 'no-folding') return { graphOptimizationLevel: o };
  return { graphOptimizationLevel: 'all', extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } } };
}

/** A session the same for both runtimes: run(feeds) and release(). */
interface BenchSession { run(feeds: Record<string, ort.Tensor>): Promise<unknown>; release(): Promise<void> }

/**
 * onnxruntime-node reads external data beside the graph itself; onnxruntime-web is handed the
 * graph's bytes and each `<graph>.onnx.data*` file's bytes (as the app does).
 */
async function createSession(o: Options, file = o.file): Promise<{ session: BenchSession; version: string }> {
  const path = join(o.pack, ...file.split('/'));
  if (o.runtime === 'node') {
    const session = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'], intraOpNumThreads: o.threads, interOpNumThreads: 1,
      ...optimizationOptions(o.optimization),
    });
    return { session, version: `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim() };
  }
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = o.threads;
  const name = path.split('/').pop() ?? '';
  const externalData = readdirSync(dirname(path))
    .filter((f) => f.startsWith(`${name}.data`))
    .map((f) => ({ path: f, data: new Uint8Array(readFileSync(join(dirname(path), f))) }));
  const session = await web.InferenceSession.create(new Uint8Array(readFileSync(path)), {
    executionProviders: ['wasm'], ...optimizationOptions(o.optimization), externalData,
  });
  // onnxruntime-web's Tensor class is its own: rebuild the feeds with it
  const run = (feeds: Record<string, ort.Tensor>) => session.run(Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [k, new web.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)])));
  return { session: { run, release: () => session.release() }, version: `onnxruntime-web ${web.env.versions.web ?? ''} (WASM)`.trim() };
}

/** `--against`: the two graphs alternating at the pack's latent; medians in seconds, and file / against. */
export async function benchAgainst(o: Options & { against: string }): Promise<Record<string, unknown>> {
  const { latent, text } = readShapes(o.pack);
  const inputs = feeds(latent, text, latent.frames);
  const a = await createSession(o);
  const b = await createSession(o, o.against);
  const [fileSeconds, againstSeconds] = await alternatingMedians([() => a.session.run(inputs), () => b.session.run(inputs)], o.repeats);
  await a.session.release();
  await b.session.release();
  return {
    runtime: a.version, optimization: o.optimization, threads: o.threads, repeats: o.repeats, alternating: true,
    median_seconds: { [o.file]: Number(fileSeconds!.toFixed(5)), [o.against]: Number(againstSeconds!.toFixed(5)) },
    ratio: Number((fileSeconds! / againstSeconds!).toFixed(3)),
  };
}

export async function bench(o: Options): Promise<Record<string, unknown>> {
  if (o.against !== null) return benchAgainst({ ...o, against: o.against });
  const manifest = readShapes(o.pack);
  const started = performance.now();
  const { session, version } = await createSession(o);
  const sessionSeconds = (performance.now() - started) / 1000;
  const perFrames: Record<string, number> = {};
  for (const frames of o.frames ?? [manifest.latent.frames]) {
    const inputs = feeds(manifest.latent, manifest.text, frames);
    const seconds = await secondsPerRun(() => session.run(inputs), o.repeats);
    perFrames[`${manifest.latent.channels}x${frames}x${manifest.latent.bins}`] = Number(seconds.toFixed(5));
  }
  await session.release();
  return {
    runtime: version, optimization: o.optimization, file: o.file, threads: o.threads,
    repeats: o.repeats, session_seconds: Number(sessionSeconds.toFixed(1)), seconds_per_evaluation: perFrames,
    rss_peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(resolve(entry)).href) {
  console.log(JSON.stringify(await bench(parseOptions(process.argv.slice(2))), null, 1));
}
