// npm run check:pack-browser -- --pack DIR: a pack served locally and loaded in Chromium as the app
// loads it (its capacity checks and variant choice), then one text encoding and one evaluation of
// its default denoiser, on WASM at the pack's latent and on WebGPU (SwiftShader here) at a
// shortened latent, each compared with onnxruntime-node running the same graph files on the same
// inputs. For the Tango-size pack (docs/tango.md): too slow for the test suite, so a script.
// Prints JSON numbers; exits 1 when a backend fails or an output differs by more than --tolerance.
// Usage: npm run check:pack-browser -- --pack factory/work/tango-pack [--frames 256]
//        [--webgpu-frames 16] [--backends wasm,webgpu] [--threads 2] [--tolerance 1e-3]

import { existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { startDevServer, waitForServer } from './dev-server';
import { chromium, type Browser } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { CHECK_TIMESTEP, checkSample, checkTokens, relativeMaxError, type PackCheckReply } from '../bench/pack-check-protocol';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PORT = Number(process.env.SOUNDSTEP_CHECK_PORT ?? 4394);
/** a Tango-size load and a full-latent evaluation on 2 loaded cores take many minutes */
const TIMEOUT_MS = 60 * 60_000;

interface Manifest {
  id: string;
  latent: { channels: number; frames: number; bins: number };
  text: { max_tokens: number; pad_token_id: number; hidden_size: number };
}

async function checkIn(browser: Browser, url: string): Promise<PackCheckReply> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.text().startsWith('check: ') || m.type() === 'error') console.error(m.text());
  });
  try {
    await page.goto(url, { timeout: 5 * 60_000, waitUntil: 'commit' });
    await page.waitForFunction(() => window.__packCheck !== undefined, undefined, { timeout: TIMEOUT_MS, polling: 2000 });
    // typed arrays come back from page.evaluate as plain objects: send them as arrays
    return await page.evaluate(() => {
      const r = window.__packCheck!;
      if (r.type !== 'done') return r;
      return { ...r, outputs: { hidden: Array.from(r.outputs.hidden), v: Array.from(r.outputs.v) } } as unknown as PackCheckReply;
    });
  } finally {
    await page.close();
  }
}

/** onnxruntime-node on the same files and inputs: the text encoder's hidden states, and v given the browser's hidden states. */
async function reference(pack: string, m: Manifest, graphs: Array<{ kind: string; file: string }>, frames: number,
  browserHidden: Float32Array): Promise<{ hidden: Float32Array; v: Float32Array; seconds: number }> {
  const path = (kind: string): string => {
    const g = graphs.find((x) => x.kind === kind);
    if (!g) throw new Error(`the browser's load report has no ${kind} graph`);
    return join(pack, ...g.file.split('/'));
  };
  const started = performance.now();
  const { max_tokens: L, pad_token_id: pad, hidden_size: H } = m.text;
  const { ids, mask } = checkTokens(L, pad);
  const text = await ort.InferenceSession.create(path('text'), { intraOpNumThreads: 2 });
  const hidden = (await text.run({
    input_ids: new ort.Tensor('int64', ids, [1, L]), attention_mask: new ort.Tensor('int64', mask, [1, L]),
  })).last_hidden_state!.data as Float32Array;
  await text.release();
  const { channels: C, bins: F } = m.latent;
  const denoiser = await ort.InferenceSession.create(path('denoiser'), { intraOpNumThreads: 2 });
  const v = (await denoiser.run({
    sample: new ort.Tensor('float32', checkSample(C * frames * F), [1, C, frames, F]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([BigInt(CHECK_TIMESTEP)]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', browserHidden, [1, L, H]),
    encoder_attention_mask: new ort.Tensor('int64', mask, [1, L]),
  })).v_prediction!.data as Float32Array;
  await denoiser.release();
  return { hidden, v, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      pack: { type: 'string' }, frames: { type: 'string', default: '' }, 'webgpu-frames': { type: 'string', default: '16' },
      backends: { type: 'string', default: 'wasm,webgpu' }, threads: { type: 'string', default: '2' },
      tolerance: { type: 'string', default: '1e-3' },
    },
  });
  if (!values.pack || !existsSync(join(values.pack, 'manifest.json'))) throw new Error('--pack DIR: a folder with a manifest.json');
  const pack = resolve(values.pack);
  const m = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8')) as Manifest;
  const tolerance = Number(values.tolerance);
  // served from public/ by the dev server under a git-ignored name, removed afterwards
  const served = `local-check-${basename(pack)}`;
  const link = resolve('public/models', served);
  rmSync(link, { force: true });
  symlinkSync(pack, link);
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  const results: Record<string, unknown>[] = [];
  let failed = false;
  try {
    server = startDevServer(PORT);
    const base = `http://127.0.0.1:${PORT}/`;
    await waitForServer(`${base}models/${served}/manifest.json`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--no-first-run'] });
    for (const backend of values.backends.split(',')) {
      const frames = Number((backend === 'webgpu' ? values['webgpu-frames'] : values.frames) || m.latent.frames);
      const r = await checkIn(browser, `${base}pack-check.html?backend=${backend}&threads=${values.threads}&frames=${frames}&pack=models/${served}/`);
      if (r.type !== 'done') {
        results.push({ backend, error: r.type === 'error' ? r.message : 'no result' });
        failed = true;
        continue;
      }
      const hidden = Float32Array.from(r.outputs.hidden);
      const v = Float32Array.from(r.outputs.v);
      const ref = await reference(pack, m, r.graphs, frames, hidden);
      const errors = { hidden: relativeMaxError(hidden, ref.hidden), v: relativeMaxError(v, ref.v) };
      failed ||= !(errors.hidden <= tolerance && errors.v <= tolerance);
      results.push({
        backend, device: r.device, graphs: r.graphs, latent: `${m.latent.channels}x${frames}x${m.latent.bins}`,
        load_ms: Math.round(r.loadMs), encode_ms: Math.round(r.encodeMs), denoise_ms: Math.round(r.denoiseMs),
        relative_max_error_vs_onnxruntime_node: errors, tolerance, node_reference_seconds: Number(ref.seconds.toFixed(1)),
      });
    }
  } finally {
    await browser?.close();
    server?.kill();
    rmSync(link, { force: true });
  }
  console.log(JSON.stringify({ pack: m.id, chromium: CHROMIUM, results }, null, 1));
  return failed ? 1 : 0;
}

process.exitCode = await main();
