// The pack-check worker: loads a pack as the app's worker does (onnxruntime-web's builds, the
// app's loader with its capacity checks and variant choice), then runs the text encoder once and
// the pack's default denoiser once on fixed inputs (./pack-check-protocol.ts) and returns the
// outputs, which src/cli/pack-check-browser.ts compares with onnxruntime-node's.

import { httpFetchFile } from '../runtime/pack';
import { Pipeline } from '../runtime/pipeline';
import { upFrontDenoiser } from '../runtime/pipeline-load';
import { loadOrt } from '../worker/ort-loader';
import { CHECK_TIMESTEP, checkSample, checkTokens, type PackCheckReply, type PackCheckRequest } from './pack-check-protocol';

interface CheckScope {
  readonly navigator: Navigator & { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; description?: string } } | null> } };
  postMessage(message: PackCheckReply): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<PackCheckRequest>) => void): void;
}
const scope = self as unknown as CheckScope;
const post = (reply: PackCheckReply): void => scope.postMessage(reply);
const now = (): number => performance.now();

async function check(req: PackCheckRequest): Promise<PackCheckReply> {
  let device = `WASM (${req.threads} threads)`;
  let adapter: unknown;
  if (req.backend === 'webgpu') {
    // any adapter, SwiftShader included: this checks results, it does not time a GPU
    const found = await scope.navigator.gpu?.requestAdapter();
    if (!found) return { type: 'error', message: 'WebGPU: this browser has no adapter' };
    adapter = found;
    device = `WebGPU (${[found.info?.vendor, found.info?.description].filter(Boolean).join(' ') || 'unknown adapter'})`;
  }
  const ort = await loadOrt({ backend: req.backend, threads: req.threads, adapter });
  let started = now();
  const pipeline = await Pipeline.load({ ort, backend: req.backend, fetchFile: httpFetchFile(req.packUrl) });
  try {
    const loadMs = now() - started;
    const m = pipeline.manifest;
    post({ type: 'progress', text: `loaded ${m.id} on ${device} in ${Math.round(loadMs)} ms` });
    const { ids, mask } = checkTokens(m.text.max_tokens, m.text.pad_token_id);
    started = now();
    const hidden = await pipeline.encodeText(ids, mask, 1);
    const encodeMs = now() - started;
    post({ type: 'progress', text: `text encoder: ${Math.round(encodeMs)} ms` });
    const denoiser = upFrontDenoiser(m) ?? m.denoisers[0]!.id; // the one the load brought
    const { channels: C, bins: F } = m.latent;
    const [L, H] = [m.text.max_tokens, m.text.hidden_size];
    // the graph's session itself: Pipeline.denoiseOnce takes whole clips only, and this
    // evaluation may be on a shortened latent (a Tango-size U-Net on SwiftShader)
    const graph = await pipeline.ensureDenoiser(denoiser);
    started = now();
    const out = await graph.session.run({
      sample: new ort.Tensor('float32', checkSample(C * req.frames * F), [1, C, req.frames, F]),
      timestep: new ort.Tensor('int64', BigInt64Array.of(BigInt(CHECK_TIMESTEP)), [1]),
      encoder_hidden_states: new ort.Tensor('float32', hidden, [1, L, H]),
      encoder_attention_mask: new ort.Tensor('int64', mask, [1, L]),
    });
    const v = new Float32Array(out['v_prediction']!.data as Float32Array);
    const denoiseMs = now() - started;
    const graphs = (pipeline.loadReport?.graphs ?? []).map((g) => ({ kind: g.kind, file: g.file }));
    return { type: 'done', device, denoiser, graphs, loadMs, encodeMs, denoiseMs, outputs: { hidden, v } };
  } finally {
    await pipeline.dispose();
  }
}

scope.addEventListener('message', (e) => {
  check(e.data).then(post, (err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
});
