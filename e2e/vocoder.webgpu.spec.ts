// The shipped pack's vocoder graph on WebGPU (SwiftShader here) gives the audio WASM gives, in the
// 'webgpu' project. The app runs every graph on the backend it picked, so a graph that onnxruntime-web
// computes wrong on WebGPU is wrong audio for every WebGPU user, with no error to show.
//
// Why a test: the vocoder's low-band refiner (factory/soundstep_factory/low_band.py) first shipped
// with a Conv of 6 input channels, which onnxruntime-web 1.30's WebGPU Conv computed wrong
// (max |webgpu - wasm| 0.021 on audio peaking at 0.042); padded to 8 channels it agrees within 1e-5.

import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { SHIPPED_DIR, shippedManifest } from './shipped-pack';

const ORT_DIST = 'node_modules/onnxruntime-web/dist';
const PORT = 4396;
/** the vocoder's audio peaks near 0.04 on this input; the graph before the refiner agreed to 5e-6 */
const TOLERANCE = 1e-4;

/** The vocoder graph and onnxruntime-web's files, cross-origin isolated as the app is served. */
function serve(vocoder: string): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const types: Record<string, string> = { mjs: 'text/javascript', wasm: 'application/wasm', html: 'text/html' };
    try {
      const body = path === '/' ? Buffer.from('<html><body>vocoder parity</body></html>')
        : path === '/vocoder.onnx' ? readFileSync(vocoder)
          : path.startsWith('/ort/') && !path.includes('..') ? readFileSync(join(ORT_DIST, path.slice(5))) : null;
      if (!body) throw new Error('not found');
      res.writeHead(200, { 'content-type': types[path === '/' ? 'html' : path.split('.').pop()!] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  }).listen(PORT);
}

test('the shipped vocoder gives the same audio on WebGPU as on WASM', async ({ page }) => {
  test.setTimeout(300_000);
  const server = serve(join(SHIPPED_DIR, shippedManifest.vocoder.file));
  try {
    await page.goto(`http://127.0.0.1:${PORT}/`);
    const result = await page.evaluate(async () => {
      const ortUrl = '/ort/ort.webgpu.bundle.min.mjs';
      type Session = { run(feeds: Record<string, unknown>): Promise<Record<string, { getData(): Promise<Float32Array> }>> };
      const ort = (await import(/* @vite-ignore */ ortUrl)) as {
        env: { wasm: { numThreads: number } };
        InferenceSession: { create(bytes: Uint8Array, options: object): Promise<Session> };
        Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
      };
      ort.env.wasm.numThreads = 1;
      const bytes = new Uint8Array(await (await fetch('/vocoder.onnx')).arrayBuffer());
      let seed = 7; // a log-mel between -9 and -3, the same on both backends
      const mel = Float32Array.from({ length: 64 * 256 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 6 - 9);
      const waves: Float32Array[] = [];
      for (const backend of ['wasm', 'webgpu']) {
        const session = await ort.InferenceSession.create(bytes, { executionProviders: [backend] });
        const out = await session.run({ log_mel: new ort.Tensor('float32', mel, [1, 64, 256]) });
        waves.push(await out['waveform']!.getData());
      }
      const [wasm, webgpu] = waves as [Float32Array, Float32Array];
      let maxDiff = 0;
      let peak = 0;
      for (let i = 0; i < wasm.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(wasm[i]! - webgpu[i]!));
        peak = Math.max(peak, Math.abs(wasm[i]!));
      }
      return { samples: wasm.length, maxDiff, peak };
    });
    console.log(`vocoder parity: max|webgpu - wasm| = ${result.maxDiff.toExponential(2)}, peak ${result.peak.toFixed(4)}`);
    expect(result.samples).toBe(256 * 160);
    expect(result.peak).toBeGreaterThan(0.01); // audio, not silence
    expect(result.maxDiff).toBeLessThan(TOLERANCE);
  } finally {
    server.close();
  }
});
