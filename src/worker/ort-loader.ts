// Which onnxruntime-web build runs each backend, and where its .wasm file is.
//
// onnxruntime-web 1.30 ships several builds (package.json "exports"); each embeds its
// Emscripten glue (the *.bundle.min.mjs files) and fetches one .wasm file, which we import
// with Vite's `?url` (an ordinary hashed asset in dev and in the build) and hand to
// env.wasm.wasmPaths:
//
// | backend | import                  | .wasm                                      |
// |---------|-------------------------|--------------------------------------------|
// | wasm    | onnxruntime-web/wasm    | ort-wasm-simd-threaded.wasm (14 MB)        |
// | webgpu  | onnxruntime-web/webgpu  | ort-wasm-simd-threaded.asyncify.wasm (27 MB)|
//
// Not the default 'onnxruntime-web' bundle: its WebGPU backend is the older JSEP one, which
// on this pack (SwiftShader adapter, measured 2026-11) is off by 6.1 on the int8 text
// encoder's hidden states and 4.5e-2 on the denoiser's v; the 'webgpu' build's native WebGPU
// EP matches WASM to 2.4e-6 and 4.5e-5 on the same inputs.
//
// The imports are dynamic so each build is its own chunk: ORT's WASM threads start that
// chunk (its import.meta.url) as module workers named 'em-pthread', and a page only
// downloads the build it runs.

import wasmOnlyUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import webgpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

/** The onnxruntime-web module API (every build has the same types). */
export type Ort = typeof import('onnxruntime-web');

interface OrtBuild {
  load: () => Promise<Ort>;
  wasmUrl: string;
}

const BUILDS: Record<'wasm' | 'webgpu', OrtBuild> = {
  wasm: { load: () => import('onnxruntime-web/wasm'), wasmUrl: wasmOnlyUrl },
  webgpu: { load: () => import('onnxruntime-web/webgpu'), wasmUrl: webgpuWasmUrl },
};

const loaded = new Map<'wasm' | 'webgpu', Ort>();

export interface OrtSetup {
  backend: 'wasm' | 'webgpu';
  threads: number;
  /** a GPUAdapter to use (WebGPU only) */
  adapter?: unknown;
}

/** Import (once) and configure the build for `setup.backend`; env is set before any session. */
export async function loadOrt(setup: OrtSetup): Promise<Ort> {
  let ort = loaded.get(setup.backend);
  if (!ort) {
    const build = BUILDS[setup.backend];
    ort = await build.load();
    ort.env.wasm.wasmPaths = { wasm: build.wasmUrl };
    ort.env.wasm.numThreads = setup.threads;
    // we already are in a worker: no proxy worker
    ort.env.wasm.proxy = false;
    // not the warnings about shape ops placed on the CPU (expected with WebGPU)
    ort.env.logLevel = 'error';
    loaded.set(setup.backend, ort);
  }
  if (setup.backend === 'webgpu' && setup.adapter) {
    (ort.env.webgpu as { adapter?: unknown }).adapter = setup.adapter;
  }
  return ort;
}

/**
 * The GPUDevice the WebGPU build runs its sessions on: onnxruntime-web sets env.webgpu.device
 * when it creates one (with the first WebGPU session); null before that or on WASM.
 */
export async function webgpuDevice(): Promise<unknown> {
  const ort = loaded.get('webgpu');
  if (!ort) return null;
  return (await (ort.env.webgpu as { device?: unknown }).device) ?? null;
}
