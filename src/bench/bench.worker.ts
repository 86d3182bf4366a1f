// The bench worker: loads the pack with onnxruntime-web as the app's worker does (same builds,
// same .wasm, WASM threads) and runs the CLI bench's table (./bench-table.ts).

import { selectPackPrecision, type PrecisionChoice } from '../runtime/graphs';
import { httpFetchFile } from '../runtime/pack';
import { Pipeline } from '../runtime/pipeline';
import { loadOrt } from '../worker/ort-loader';
import { isSoftwareAdapter, type BenchReply, type BenchRequest } from './bench-protocol';
import { defaultBenchCases, formatBenchTable, ms, runBench } from './bench-table';

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface Gpu {
  requestAdapter(): Promise<{ info?: AdapterInfo; isFallbackAdapter?: boolean } | null>;
}
interface BenchScope {
  readonly navigator: Navigator & { gpu?: Gpu };
  postMessage(message: BenchReply): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<BenchRequest>) => void): void;
}
const scope = self as unknown as BenchScope;
const post = (reply: BenchReply): void => scope.postMessage(reply);

/** The WebGPU adapter when it is a real GPU; else the reason it is not benched. */
async function gpuAdapter(): Promise<{ adapter: unknown; name: string } | { skip: string }> {
  const adapter = await scope.navigator.gpu?.requestAdapter();
  if (!adapter) return { skip: 'WebGPU: this browser has no adapter' };
  const info = { ...adapter.info, isFallbackAdapter: adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter };
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  if (isSoftwareAdapter(info)) return { skip: `WebGPU: the adapter is software (${name}, SwiftShader): it times the CPU, not a GPU` };
  return { adapter, name };
}

async function bench(req: BenchRequest): Promise<BenchReply> {
  let device = `WASM (${req.threads} thread${req.threads === 1 ? '' : 's'}, crossOriginIsolated ${String(self.crossOriginIsolated)})`;
  let adapter: unknown;
  if (req.backend === 'webgpu') {
    const gpu = await gpuAdapter();
    if ('skip' in gpu) return { type: 'skipped', reason: gpu.skip };
    adapter = gpu.adapter;
    device = `WebGPU (${gpu.name})`;
  }
  const ort = await loadOrt({ backend: req.backend, threads: req.threads, adapter });
  let chosen: PrecisionChoice | undefined;
  const pipeline = await Pipeline.load({
    ort,
    backend: req.backend,
    fetchFile: httpFetchFile(req.packUrl),
    precision: (m) => {
      // shaderF16 false: float16 variants only when asked for, so the bench's WebGPU rows stay float32 by default
      chosen = selectPackPrecision(m, { backend: req.backend, shaderF16: false, preference: req.precision ?? 'auto' });
      return chosen.dtype;
    },
  });
  if (chosen) device = `${device}, ${chosen.reason}`;
  try {
    // no pipeline.warmUp(): it runs every denoiser of the pack; each row warms up its own
    post({ type: 'progress', text: `loaded ${pipeline.manifest.id} on ${device}` });
    const rows = await runBench(pipeline, defaultBenchCases(pipeline.manifest, req.teacherSteps), {
      prompt: 'a dog barks',
      seed: 0,
      runs: req.runs,
      onRow: (r) => post({ type: 'progress', text: `${r.denoiserId}-${r.steps}: ${ms(r.totalMs)} ms` }),
    });
    return { type: 'done', backend: req.backend, device, rows, table: formatBenchTable(rows) };
  } finally {
    await pipeline.dispose();
  }
}

scope.addEventListener('message', (e) => {
  bench(e.data).then(post, (err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
});
