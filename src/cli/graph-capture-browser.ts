// npm run probe:graph-capture: does onnxruntime-web's WebGPU graph capture (`enableGraphCapture`)
// replay the pack's graphs correctly? Issue 21 asks for graph capture "if ONNX Runtime allows it
// with these graphs". In Chromium (Debian's, --enable-unsafe-webgpu) it runs each graph in two
// sessions on the same inputs: a plain WebGPU session, and a captured one whose inputs and output
// are GPU buffers bound once and refilled in place before every run (capture needs fixed buffers:
// a replay reads and writes the buffers it recorded). Each run draws new inputs; the table prints
// max |captured - plain| per run, or the error. Two graphs: the device loop's step graph
// (src/runtime/step-graph.ts, a handful of nodes) and the pack's default student.
// Usage: npm run probe:graph-capture -- [--runs 4] [--pack public/models/soundstep-small-next]
// Prints numbers, never pass/fail: on a SwiftShader adapter the figures say whether replays are
// right, not whether they are fast.

import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { GRAPH_IO } from '../runtime/graph-io';
import { STEP_IO, stepGraphBytes } from '../runtime/step-graph';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PORT = Number(process.env.SOUNDSTEP_PROBE_PORT ?? 4394);
const ORT_DIST = 'node_modules/onnxruntime-web/dist';

/** One graph input: float32 inputs get new random values every run, int64 ones the run's entry of `perRun`. */
export interface ProbeInput {
  name: string;
  dims: number[];
  type: 'float32' | 'int64';
  perRun?: number[][];
}

export interface ProbeGraph {
  label: string;
  url: string;
  inputs: ProbeInput[];
  output: { name: string; dims: number[] };
}

/** One run of one graph: the largest difference from the plain session, or why it did not run. */
export interface ProbeRun {
  maxAbs?: number;
  /** the bound output still all zeros after the run: the replay wrote elsewhere */
  untouched?: boolean;
  error?: string;
}

/** The two graphs at the pack's latent shape (C, T, F) and text rows (L tokens of H). */
export function probeGraphs(latent: [number, number, number], tokens: number, hidden: number, runs: number): ProbeGraph[] {
  const z = [1, ...latent];
  const scalar = (name: string): ProbeInput => ({ name, dims: [], type: 'float32' });
  const timesteps = [999, 759, 500, 120, 40, 1];
  const mask = Array.from({ length: tokens }, (_, i) => (i < Math.ceil(tokens / 2) ? 1 : 0));
  return [
    {
      label: 'step graph (rows 1)',
      url: '/graph/step.onnx',
      inputs: [{ name: STEP_IO.z, dims: z, type: 'float32' }, { name: STEP_IO.v, dims: z, type: 'float32' },
        scalar(STEP_IO.alphaT), scalar(STEP_IO.sigmaT), scalar(STEP_IO.alphaS), scalar(STEP_IO.sigmaS)],
      output: { name: STEP_IO.zNext, dims: z },
    },
    {
      label: 'default student',
      url: '/graph/denoiser.onnx',
      inputs: [
        { name: 'sample', dims: z, type: 'float32' },
        { name: 'timestep', dims: [1], type: 'int64', perRun: Array.from({ length: runs }, (_, r) => [timesteps[r % timesteps.length]!]) },
        { name: 'encoder_hidden_states', dims: [1, tokens, hidden], type: 'float32' },
        { name: 'encoder_attention_mask', dims: [1, tokens], type: 'int64', perRun: Array.from({ length: runs }, () => mask) },
      ],
      output: { name: GRAPH_IO.denoiser.output, dims: z },
    },
  ];
}

/** Runs in the page: plain and captured sessions of `g`, `runs` times on fresh inputs. */
async function probeInPage({ g, runs }: { g: ProbeGraph; runs: number }): Promise<ProbeRun[]> {
  type Tensor = { getData(): Promise<ArrayLike<number>> };
  type Session = { run(feeds: Record<string, unknown>, fetches?: Record<string, unknown>): Promise<Record<string, Tensor>> };
  type Buffer = { mapAsync(mode: number): Promise<void>; getMappedRange(): ArrayBuffer; destroy(): void };
  type Device = {
    createBuffer(d: { size: number; usage: number }): Buffer;
    createCommandEncoder(): { copyBufferToBuffer(a: Buffer, ao: number, b: Buffer, bo: number, n: number): void; finish(): unknown };
    queue: { writeBuffer(b: Buffer, o: number, d: ArrayBufferView): void; submit(c: unknown[]): void };
  };
  const ortUrl = '/ort/ort.webgpu.bundle.min.mjs';
  const ort = (await import(/* @vite-ignore */ ortUrl)) as {
    env: { wasm: { numThreads: number }; webgpu: { device: Promise<Device> } };
    InferenceSession: { create(bytes: Uint8Array, options: object): Promise<Session> };
    Tensor: { new (type: string, data: ArrayBufferView, dims: number[]): unknown; fromGpuBuffer(b: Buffer, o: object): unknown };
  };
  ort.env.wasm.numThreads = 1;
  const bytes = new Uint8Array(await (await fetch(g.url)).arrayBuffer());
  const plain = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
  const captured = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], enableGraphCapture: true });
  const device = await ort.env.webgpu.device;
  const [STORAGE, COPY_SRC, COPY_DST, MAP_READ] = [0x80, 0x04, 0x08, 0x01];
  const count = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
  const buffer = (bytesLength: number): Buffer => device.createBuffer({ size: Math.ceil(bytesLength / 16) * 16, usage: STORAGE | COPY_SRC | COPY_DST });
  let seed = 12345;
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
  const bound = g.inputs.map((i) => ({ ...i, buffer: buffer(count(i.dims) * (i.type === 'int64' ? 8 : 4)) }));
  const out = buffer(count(g.output.dims) * 4);
  const feeds = Object.fromEntries(bound.map((i) => [i.name, ort.Tensor.fromGpuBuffer(i.buffer, { dataType: i.type, dims: i.dims })]));
  const fetches = { [g.output.name]: ort.Tensor.fromGpuBuffer(out, { dataType: 'float32', dims: g.output.dims }) };
  const readBack = async (): Promise<Float32Array> => {
    const n = count(g.output.dims) * 4;
    const staging = device.createBuffer({ size: n, usage: MAP_READ | COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(out, 0, staging, 0, n);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    const values = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return values;
  };
  const results: ProbeRun[] = [];
  for (let r = 0; r < runs; r++) {
    const values = bound.map((i) => (i.type === 'int64' ? BigInt64Array.from(i.perRun![r]!.map(BigInt)) : random(count(i.dims))));
    bound.forEach((i, k) => device.queue.writeBuffer(i.buffer, 0, values[k]!));
    device.queue.writeBuffer(out, 0, new Float32Array(count(g.output.dims))); // a replay that writes nothing reads as 0
    try {
      await captured.run(feeds, fetches);
      const got = await readBack();
      const want = await (await plain.run(Object.fromEntries(bound.map((i, k) => [i.name, new ort.Tensor(i.type, values[k]!, i.dims)]))))[g.output.name]!.getData();
      let maxAbs = 0;
      for (let j = 0; j < got.length; j++) maxAbs = Math.max(maxAbs, Math.abs(got[j]! - want[j]!));
      results.push({ maxAbs, untouched: got.every((x) => x === 0) });
    } catch (e) {
      results.push({ error: String(e).replace(/\s+/g, ' ').slice(0, 400) });
    }
  }
  return results;
}

function serve(files: Record<string, Uint8Array>): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    let body: Uint8Array | undefined = files[path];
    if (!body && path.startsWith('/ort/') && !path.includes('..')) body = readFileSync(join(ORT_DIST, path.slice(5)));
    const type = path.endsWith('.mjs') ? 'text/javascript' : path.endsWith('.wasm') ? 'application/wasm' : path === '/' ? 'text/html' : 'application/octet-stream';
    res.writeHead(body ? 200 : 404, { 'Content-Type': type, 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    res.end(body);
  }).listen(PORT);
}

function ortWebVersion(): string {
  return (JSON.parse(readFileSync('node_modules/onnxruntime-web/package.json', 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '4' }, pack: { type: 'string', default: 'public/models/soundstep-small-next' } } });
  const runs = Number(values.runs);
  const manifest = JSON.parse(readFileSync(join(values.pack, 'manifest.json'), 'utf8')) as {
    default_denoiser: string; denoisers: { id: string; file: string }[];
    latent: { channels: number; frames: number; bins: number }; text: { max_tokens: number; hidden_size: number };
  };
  const student = manifest.denoisers.find((d) => d.id === manifest.default_denoiser)!;
  const server = serve({
    '/': new TextEncoder().encode('<!doctype html><title>graph capture probe</title>'),
    '/graph/step.onnx': stepGraphBytes(1),
    '/graph/denoiser.onnx': readFileSync(join(values.pack, student.file)),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
  try {
    console.log(`Chromium ${browser.version()}, onnxruntime-web ${ortWebVersion()}, ${new Date().toISOString()}`);
    const { channels, frames, bins } = manifest.latent;
    for (const g of probeGraphs([channels, frames, bins], manifest.text.max_tokens, manifest.text.hidden_size, runs)) {
      const page = await browser.newPage(); // one page per graph: a crash in one leaves the other's figures
      // tsx (esbuild, keepNames) wraps named functions in __name(); the page needs it to run probeInPage
      await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
      try {
        await page.goto(`http://127.0.0.1:${PORT}/`);
        const adapter = await page.evaluate(async () => {
          const a = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> } }).gpu?.requestAdapter();
          return a?.info ? `${a.info.vendor} ${a.info.architecture}` : 'no adapter';
        });
        const result = await page.evaluate(probeInPage, { g, runs });
        console.log(`\n${g.label === 'default student' ? `${g.label} (${student.id})` : g.label}, adapter ${adapter}`);
        result.forEach((r, k) => console.log(`  run ${k + 1}: ${r.error ? `error: ${r.error}` : `max |captured - plain| = ${r.maxAbs!.toExponential(2)}${r.untouched ? ', the bound output untouched (all 0)' : ''}`}`));
      } catch (e) {
        console.log(`\n${g.label}: the page failed: ${String(e).split('\n')[0]}`);
      } finally {
        await page.close().catch(() => undefined);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
}

if (process.argv[1]?.endsWith('graph-capture-browser.ts')) await main();
