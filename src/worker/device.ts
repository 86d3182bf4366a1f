// Device choice for onnxruntime-web, decided here and told to the user (ENVIRONMENT.md:
// `executionProviders: ['webgpu', 'wasm']` would silently drop WebGPU; we pick one ourselves).
//
// Order of preference: WebGPU on an adapter, then WASM. 'auto' skips a software (fallback)
// adapter such as SwiftShader, which is about 90x slower than WASM; asking for 'webgpu'
// explicitly takes whatever adapter there is.

import type { BackendPreference } from './protocol';

/** The few WebGPU names we use (TypeScript's DOM lib has no WebGPU types). */
export interface GpuAdapterLike {
  readonly isFallbackAdapter?: boolean;
  /** GPUSupportedFeatures: 'shader-f16' means float16 arithmetic in shaders */
  readonly features?: { has(name: string): boolean };
  readonly info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
}
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

export interface DeviceEnvironment {
  gpu: GpuLike | undefined;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
}

export interface DeviceChoice {
  backend: 'webgpu' | 'wasm';
  /** a sentence for the user */
  reason: string;
  threads: number;
  /** the adapter to hand to onnxruntime-web (env.webgpu.adapter), WebGPU only */
  adapter?: GpuAdapterLike;
  /** the WebGPU adapter has 'shader-f16' (float16 variants can run); false on WASM */
  shaderF16?: boolean;
}

/** True when the adapter can run float16 shaders (GPUAdapter.features has 'shader-f16'). */
export function hasShaderF16(adapter: GpuAdapterLike | undefined): boolean {
  return adapter?.features?.has('shader-f16') ?? false;
}

/** Most WASM threads we ask for: past 4 the denoiser's small convolutions stop scaling. */
export const MAX_WASM_THREADS = 4;

/** WASM threads: hardwareConcurrency capped at 4 when SharedArrayBuffer exists, else 1. */
export function selectWasmThreads(env: Pick<DeviceEnvironment, 'crossOriginIsolated' | 'hardwareConcurrency'>): number {
  if (!env.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(env.hardwareConcurrency || 1)));
}

function describeWasm(threads: number, crossOriginIsolated: boolean): string {
  const t = `${threads} thread${threads === 1 ? '' : 's'}`;
  return crossOriginIsolated ? `WASM (${t})` : `WASM (${t}: page is not cross-origin isolated)`;
}

function describeAdapter(a: GpuAdapterLike): string {
  const parts = [a.info?.vendor, a.info?.architecture, a.info?.description].filter((s): s is string => !!s);
  return parts.length > 0 ? parts.join(' ') : 'unknown adapter';
}

function isFallback(a: GpuAdapterLike): boolean {
  return a.info?.isFallbackAdapter ?? a.isFallbackAdapter ?? false;
}

/** Pick WebGPU or WASM for `preference` in `env`, with the reason in words. */
export async function selectDevice(preference: BackendPreference, env: DeviceEnvironment): Promise<DeviceChoice> {
  const threads = selectWasmThreads(env);
  const wasm = describeWasm(threads, env.crossOriginIsolated);
  if (preference === 'wasm') {
    return { backend: 'wasm', reason: `${wasm}, as requested`, threads };
  }
  if (!env.gpu) {
    return { backend: 'wasm', reason: `WebGPU: not available in this browser, using ${wasm}`, threads };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await env.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { backend: 'wasm', reason: `WebGPU: requestAdapter failed (${String(e)}), using ${wasm}`, threads };
  }
  if (!adapter) {
    return { backend: 'wasm', reason: `WebGPU: no adapter, using ${wasm}`, threads };
  }
  const name = describeAdapter(adapter);
  if (isFallback(adapter)) {
    if (preference === 'auto') {
      return {
        backend: 'wasm',
        reason: `WebGPU: only a software adapter (${name}), using ${wasm}`,
        threads,
      };
    }
    return {
      backend: 'webgpu',
      reason: `WebGPU (software adapter: ${name}), as requested`,
      threads,
      adapter,
      shaderF16: hasShaderF16(adapter),
    };
  }
  return { backend: 'webgpu', reason: `WebGPU (${name})`, threads, adapter, shaderF16: hasShaderF16(adapter) };
}
