import { describe, expect, it } from 'vitest';
import { selectDevice, selectWasmThreads, type GpuAdapterLike, type GpuLike } from './device';

const gpuWith = (adapter: GpuAdapterLike | null): GpuLike => ({ requestAdapter: async () => adapter });
const env = { crossOriginIsolated: true, hardwareConcurrency: 2 };

describe('selectWasmThreads', () => {
  it('uses hardwareConcurrency capped at 4 when cross-origin isolated, else 1', () => {
    expect(selectWasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 2 })).toBe(2);
    expect(selectWasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 16 })).toBe(4);
    expect(selectWasmThreads({ crossOriginIsolated: false, hardwareConcurrency: 16 })).toBe(1);
    expect(selectWasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 0 })).toBe(1);
  });
});

describe('selectDevice', () => {
  it('runs WASM when asked', async () => {
    const d = await selectDevice('wasm', { ...env, gpu: gpuWith({}) });
    expect(d.backend).toBe('wasm');
    expect(d.reason).toBe('WASM (2 threads), as requested');
  });

  it('falls back to WASM without navigator.gpu or without an adapter, saying why', async () => {
    const none = await selectDevice('auto', { ...env, gpu: undefined });
    expect(none).toMatchObject({ backend: 'wasm', reason: 'WebGPU: not available in this browser, using WASM (2 threads)' });
    const noAdapter = await selectDevice('auto', { ...env, gpu: gpuWith(null) });
    expect(noAdapter).toMatchObject({ backend: 'wasm', reason: 'WebGPU: no adapter, using WASM (2 threads)' });
    const throws = await selectDevice('webgpu', { ...env, gpu: { requestAdapter: () => Promise.reject(new Error('boom')) } });
    expect(throws.backend).toBe('wasm');
    expect(throws.reason).toContain('requestAdapter failed');
  });

  it('takes a hardware adapter in auto mode', async () => {
    const d = await selectDevice('auto', { ...env, gpu: gpuWith({ info: { vendor: 'acme', architecture: 'rdna' } }) });
    expect(d).toMatchObject({ backend: 'webgpu', reason: 'WebGPU (acme rdna)' });
    expect(d.adapter).toBeDefined();
  });

  it('skips a software adapter in auto mode but takes it when WebGPU is asked for', async () => {
    const swiftshader = { info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true } };
    const auto = await selectDevice('auto', { ...env, gpu: gpuWith(swiftshader) });
    expect(auto).toMatchObject({ backend: 'wasm', reason: 'WebGPU: only a software adapter (google swiftshader), using WASM (2 threads)' });
    const asked = await selectDevice('webgpu', { ...env, gpu: gpuWith(swiftshader) });
    expect(asked).toMatchObject({ backend: 'webgpu', reason: 'WebGPU (software adapter: google swiftshader), as requested' });
  });

  it('says when the page is not cross-origin isolated', async () => {
    const d = await selectDevice('wasm', { crossOriginIsolated: false, hardwareConcurrency: 8, gpu: undefined });
    expect(d.threads).toBe(1);
    expect(d.reason).toContain('not cross-origin isolated');
  });
});
