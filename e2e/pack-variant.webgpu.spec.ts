// Weight variants on WebGPU (project 'webgpu': --enable-unsafe-webgpu, SwiftShader): the
// repacked pack (external data + float16 variants, soundstep_factory.repack) loads from a URL,
// and the page picks float16 weights exactly when the adapter has 'shader-f16' (float32 when
// it has not), says so in the device report, downloads only the chosen files, and one
// denoiser evaluation on the golden inputs matches the factory's v. SwiftShader is slow: one
// evaluation only, after the load's own warm-up.

import { test, expect } from './fixtures';
import { PackPanel } from './pages/PackPanel';
import { SoundstepPage } from './pages/SoundstepPage';
import { ensureRepackedPack, REMOTE_PACK_URL, servePack } from './repacked-pack';
import { evaluateFirstStep, maxAbsDiff } from './golden-step';

/** max |v - golden v|: float32 as in webgpu.spec.ts; float16 as repack's FLOAT16_TOLERANCE['denoiser'] */
const TOLERANCE = { float32: 1e-3, float16: 2e-2 } as const;

test('WebGPU weights follow shader-f16, the report says why, and one evaluation matches golden', async ({ browser }, testInfo) => {
  const dir = ensureRepackedPack();
  const context = await browser.newContext();
  const note = (description: string): void => {
    testInfo.annotations.push({ type: 'variant', description });
    console.log(`variant: ${description}`);
  };
  try {
    const requested = await servePack(context, dir, REMOTE_PACK_URL);
    const page = await context.newPage();
    const app = new SoundstepPage(page);
    const pack = new PackPanel(page);
    await app.goto({ backend: 'webgpu', pack: REMOTE_PACK_URL });
    await pack.acceptDownload(); // a pack from another site waits for the user (pack-consent.spec.ts)
    await expect(app.deviceBackend).toHaveText('WebGPU', { timeout: 60_000 });
    await pack.waitForStatus('ready', 400_000);
    await expect(app.deviceBackend).toHaveText('WebGPU');

    // what this adapter offers, asked in the page as the worker asks it
    const adapter = await page.evaluate(async () => {
      type Adapter = { features: { has(f: string): boolean }; info?: { description?: string; vendor?: string } };
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(o?: object): Promise<Adapter | null> } }).gpu;
      const a = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
      return { shaderF16: a?.features.has('shader-f16') ?? false, name: `${a?.info?.vendor ?? ''} ${a?.info?.description ?? ''}`.trim() };
    });
    const dtype = adapter.shaderF16 ? 'float16' : 'float32';
    await expect(pack.devicePrecision).toHaveAttribute('data-dtype', dtype);
    await expect(pack.devicePrecision).toContainText(
      adapter.shaderF16 ? 'the WebGPU adapter has shader-f16' : 'the WebGPU adapter has no shader-f16',
    );
    const report = await pack.devicePrecision.innerText();
    const warmUpMs = Number(await pack.warmUpMs.innerText());
    expect(warmUpMs).toBeGreaterThan(0);

    // one denoiser evaluation on golden.json's first step (both rows); the teacher downloads on this first use
    const step = await evaluateFirstStep(page, 'models/soundstep-small/golden.json'); // the repacked pack's source

    // only the chosen weights were downloaded
    const chosen = adapter.shaderF16 ? 'denoisers/teacher.fp16.onnx.data' : 'denoisers/teacher.onnx.data';
    const other = adapter.shaderF16 ? 'denoisers/teacher.onnx.data' : 'denoisers/teacher.fp16.onnx.data';
    expect(requested).toContain(chosen);
    expect(requested).not.toContain(other);
    const r = { backend: step.backend, ms: step.ms, maxAbs: maxAbsDiff(step.output, step.golden),
                finite: step.output.every(Number.isFinite) };
    note(`adapter "${adapter.name}": shader-f16 ${adapter.shaderF16}; report: "${report}"`);
    note(`warm-up ${warmUpMs} ms; one evaluation ${r.ms.toFixed(0)} ms; max |v - golden| = ${r.maxAbs.toExponential(3)} (tolerance ${TOLERANCE[dtype]})`);
    expect(r.backend).toBe('webgpu');
    expect(r.finite).toBe(true);
    expect(r.maxAbs).toBeLessThan(TOLERANCE[dtype]);
  } finally {
    await context.close();
  }
});
