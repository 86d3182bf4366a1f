// Device parity: one denoiser evaluation on WebGPU and on WASM, with the golden trajectory's
// first-step inputs, agrees between the two and with the factory's numbers.
// Runs in the 'webgpu' project (--enable-unsafe-webgpu: SwiftShader, a software adapter).
//
// Both golden rows (conditional, unconditional) run as one batch of 2, as in the factory and
// the pipeline.

import { test, expect } from './fixtures';
import { SoundstepPage } from './pages/SoundstepPage';
import { evaluateFirstStep, maxAbsDiff } from './golden-step';
import { DEFAULT_PACK_URL } from '../src/store/initialState';

const GOLDEN = `${DEFAULT_PACK_URL}golden.json`; // the page opens the default pack

/** max |v_webgpu - v_wasm| for the denoiser on identical inputs (same hidden states). */
const DEVICE_TOLERANCE = 1e-3;
/**
 * max |v - golden| on each backend: the golden value is PyTorch's U-Net on hidden states from
 * onnxruntime (CPU, Python) running the same int8 text encoder; export parity was ~1.5e-6.
 */
const GOLDEN_TOLERANCE = 1e-3;


test('WebGPU and WASM agree on one denoiser evaluation and match the golden v', async ({ browser }, testInfo) => {
  const context = await browser.newContext();
  const note = (description: string): void => {
    testInfo.annotations.push({ type: 'parity', description });
    console.log(`parity: ${description}`);
  };
  try {
    // Pages one after the other: SwiftShader and WASM share the same CPU cores.
    // 1. WASM: text encoder + denoiser on the golden inputs
    const cpu = new SoundstepPage(await context.newPage());
    await cpu.goto({ backend: 'wasm' });
    await cpu.waitForReady();
    const onWasm = await evaluateFirstStep(cpu.page, GOLDEN);
    expect(onWasm.backend).toBe('wasm');
    await cpu.page.close();

    // 2. WebGPU: the same, and the denoiser alone on WASM's hidden states
    const gpu = new SoundstepPage(await context.newPage());
    await gpu.goto({ backend: 'webgpu' });
    await expect(gpu.deviceBackend).toHaveText('WebGPU', { timeout: 60_000 });
    await gpu.waitForReady(300_000);
    await expect(gpu.deviceBackend).toHaveText('WebGPU');
    await expect(gpu.device).toContainText('WebGPU');
    const onGpu = await evaluateFirstStep(gpu.page, GOLDEN);
    expect(onGpu.backend).toBe('webgpu');
    const onGpuSameHidden = await evaluateFirstStep(gpu.page, GOLDEN, onWasm.hidden);

    const denoiser = maxAbsDiff(onGpuSameHidden.output, onWasm.output);
    const encoder = maxAbsDiff(onGpu.hidden, onWasm.hidden);
    const endToEnd = maxAbsDiff(onGpu.output, onWasm.output);
    const wasmGolden = maxAbsDiff(onWasm.output, onWasm.golden);
    const gpuGolden = maxAbsDiff(onGpu.output, onGpu.golden);
    note(`denoiser on identical inputs: max|webgpu - wasm| = ${denoiser.toExponential(3)} (tolerance ${DEVICE_TOLERANCE})`);
    note(`text encoder (int8): max|hidden_webgpu - hidden_wasm| = ${encoder.toExponential(3)} (tolerance ${DEVICE_TOLERANCE})`);
    note(`encoder + denoiser: max|webgpu - wasm| = ${endToEnd.toExponential(3)}`);
    note(`vs golden v (cond and uncond rows): wasm ${wasmGolden.toExponential(3)} (tolerance ${GOLDEN_TOLERANCE}), webgpu ${gpuGolden.toExponential(3)}`);
    note(`encode + denoise: ${onWasm.ms.toFixed(0)} ms on WASM, ${onGpu.ms.toFixed(0)} ms on WebGPU (SwiftShader)`);

    expect(onGpu.output.every(Number.isFinite)).toBe(true);
    expect(denoiser).toBeLessThan(DEVICE_TOLERANCE);
    expect(encoder).toBeLessThan(DEVICE_TOLERANCE);
    expect(endToEnd).toBeLessThan(DEVICE_TOLERANCE);
    expect(wasmGolden).toBeLessThan(GOLDEN_TOLERANCE);
    expect(gpuGolden).toBeLessThan(GOLDEN_TOLERANCE);
  } finally {
    await context.close();
  }
});
