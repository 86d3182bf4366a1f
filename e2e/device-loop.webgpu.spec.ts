// The WebGPU sampler loop (src/runtime/device-loop.ts) in the 'webgpu' project (SwiftShader):
// a generation reads back from the GPU a fixed number of times, whatever its step count, and
// its audio matches the WASM path's for the same prompt and seed.
//
// Readbacks are counted in the generation worker itself: the test wraps the worker's
// GPUBuffer.prototype.mapAsync (every GPU -> CPU copy, onnxruntime-web's and the loop's own, maps
// a buffer) through page.workers(), asking only the generation worker (ORT's WASM thread
// workers sit in Atomics.wait and never answer evaluate()).
//
// Expected per generation: 4, each once per generation, none per step:
//   1. the text encoder's hidden states (stage 2, read back by the pipeline as before),
//   2. the final latent (the loop's one readback; the result keeps it to regenerate a range),
//   3. the VAE decoder's log-mel (the pipeline transposes it for the vocoder),
//   4. the vocoder's waveform (the audio).
// The engine's loop (src/engine/sample.ts, as before the device loop) makes 1 + 25 + 2 = 28 for a
// 25-step generation (v read back after each step).
//
// Measured on 2026-12-03 (docs/speed.md): 5 and 7 readbacks in two device-loop generations of the
// student against the engine loop's 30; the same audio. (Before that day the app never ran the device
// loop: the worker's session wrappers hid onnxruntime-web's env, so the "29" measured then was the
// engine's loop.) The loop stays opt-in (the worker's __soundstepDeviceLoop, set here): on
// SwiftShader its steps are not faster, and no real GPU was at hand to time it.
//
// A script, not part of `npm test`: each generation takes 9-15 minutes on SwiftShader here.
// Run: SOUNDSTEP_DEVICE_LOOP_E2E=1 npx playwright test --project=webgpu e2e/device-loop.webgpu.spec.ts

import type { Page, TestInfo, Worker } from '@playwright/test';
import { test, expect } from './fixtures';
import { SoundstepPage } from './pages/SoundstepPage';
import { parseWav } from './wav';
import { DEFAULT_STUDENT } from './shipped-pack';

const READBACKS_PER_GENERATION = 4;
const STEPS = 25;
/**
 * Audio agreement with WASM, per sample and as a relative RMS error. WebGPU and WASM differ by
 * ~5e-5 on one denoiser evaluation (e2e/webgpu.spec.ts); 25 steps, the VAE decoder and the vocoder
 * carry that, and the WAV rounds to 16 bits.
 */
const MAX_ABS_TOLERANCE = 2e-2;
const REL_RMS_TOLERANCE = 1e-2;
const PROMPT = 'a dog barks';
const SEED = 11;

function generationWorker(page: Page): Worker {
  const found = page.workers().filter((w) => w.url().includes('generate.worker'));
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Wraps mapAsync in the generation worker (once), zeroes its counter and turns the device loop on or off. */
async function resetReadbacks(page: Page, deviceLoop: boolean): Promise<void> {
  await generationWorker(page).evaluate((loop) => {
    const scope = self as unknown as { __readbacks?: number; GPUBuffer?: { prototype: { mapAsync: (...a: unknown[]) => Promise<void> } } };
    const proto = scope.GPUBuffer?.prototype;
    if (!proto) throw new Error('no GPUBuffer in the generation worker');
    if (scope.__readbacks === undefined) {
      const original = proto.mapAsync;
      proto.mapAsync = function (this: unknown, ...args: unknown[]) {
        scope.__readbacks = (scope.__readbacks ?? 0) + 1;
        return original.apply(this, args);
      };
    }
    scope.__readbacks = 0;
    (self as unknown as { __soundstepDeviceLoop?: boolean }).__soundstepDeviceLoop = loop; // device-loop.ts runs()
  }, deviceLoop);
}

const readbacks = (page: Page): Promise<number> =>
  generationWorker(page).evaluate(() => (self as unknown as { __readbacks?: number }).__readbacks ?? -1);

interface Made {
  samples: Float32Array;
  totalMs: number;
  /** denoise stage ms per step */
  stepMs: number;
}

/** Generates PROMPT at SEED (25 steps; the teacher when `teacher`) as result number `count`; fails at once on an error alert. */
async function generate(app: SoundstepPage, teacher: boolean, count: number): Promise<Made> {
  if (teacher) await app.chooseTeacher();
  else await app.page.getByRole('radio', { name: 'Student' }).check();
  await app.startGeneration(PROMPT, STEPS, SEED);
  await expect(app.results.nth(count - 1).or(app.alert)).toBeVisible({ timeout: 1_500_000 });
  if (await app.alert.isVisible()) throw new Error(`the generation failed: ${await app.alert.innerText()}`);
  await expect(app.results).toHaveCount(count);
  const result = await app.result();
  expect(result.request.seed).toBe(SEED);
  expect(result.request.denoiserId).toBe(teacher ? 'teacher' : DEFAULT_STUDENT);
  const stepMs = (result.timings['denoise'] ?? NaN) / result.request.steps;
  return { samples: parseWav(await app.audioBytes()).samples, totalMs: result.totalMs, stepMs };
}

const ms = (m: Made): string => `${m.stepMs.toFixed(0)} ms/step (total ${m.totalMs.toFixed(0)} ms)`;

function compare(a: Float32Array, b: Float32Array): { maxAbs: number; relRms: number } {
  expect(a.length).toBe(b.length);
  let [maxAbs, err, ref] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    err += d * d;
    ref += b[i]! * b[i]!;
  }
  return { maxAbs, relRms: Math.sqrt(err / Math.max(ref, 1e-30)) };
}

function noter(testInfo: TestInfo): (description: string) => void {
  return (description) => {
    testInfo.annotations.push({ type: 'device-loop', description });
    console.log(`device-loop: ${description}`);
  };
}

for (const teacher of [true, false]) {
  const name = teacher ? 'the guided teacher, 25 steps' : 'the 25-step student';
  test(`${name}: the WebGPU loop matches the WASM audio and reads back a few times per generation, not per step`, async ({ browser }, testInfo) => {
    test.skip(process.env.SOUNDSTEP_DEVICE_LOOP_E2E !== '1', 'a script: SOUNDSTEP_DEVICE_LOOP_E2E=1 (9-15 min per generation on SwiftShader)');
    test.setTimeout(3_000_000); // SwiftShader on two loaded cores: a guided 25-step generation took 15 minutes
    const note = noter(testInfo);
    const context = await browser.newContext();
    try {
      // 1. WASM: the reference audio (the pages one after the other: they share the cores)
      const cpu = new SoundstepPage(await context.newPage());
      await cpu.goto({ backend: 'wasm' });
      await cpu.waitForReady();
      const onWasm = await generate(cpu, teacher, 1);
      await cpu.page.close();

      // 2. WebGPU, the same prompt and seed three times, counting readbacks in the generation worker:
      //    the device loop twice (the first also creates its step graph's session), then the engine's loop
      const gpu = new SoundstepPage(await context.newPage());
      await gpu.goto({ backend: 'webgpu' });
      await expect(gpu.deviceBackend).toHaveText('WebGPU', { timeout: 120_000 });
      await gpu.waitForReady(600_000);
      const runs: Array<{ made: Made; count: number }> = [];
      for (const [i, loop] of [true, true, false].entries()) {
        await resetReadbacks(gpu.page, loop);
        const made = await generate(gpu, teacher, i + 2); // the history brings the WASM page's result back
        runs.push({ made, count: await readbacks(gpu.page) });
      }
      const [first, loop, engine] = runs as [typeof runs[0], typeof runs[0], typeof runs[0]];
      const d = compare(loop.made.samples, onWasm.samples);
      const e = compare(engine.made.samples, loop.made.samples);
      note(`${name}: readbacks per generation: device loop ${first.count} (first), ${loop.count} (second); the engine's loop ${engine.count}`);
      note(`${name}: device loop audio vs WASM max abs ${d.maxAbs.toExponential(3)}, rel RMS ${d.relRms.toExponential(3)}; vs the engine's loop on WebGPU ${e.maxAbs.toExponential(3)} / ${e.relRms.toExponential(3)}`);
      note(`${name}: denoise on WebGPU (SwiftShader): device loop ${ms(loop.made)}, engine's loop ${ms(engine.made)}; on WASM ${ms(onWasm)}`);
      expect(d.maxAbs).toBeLessThan(MAX_ABS_TOLERANCE);
      expect(d.relRms).toBeLessThan(REL_RMS_TOLERANCE);
      expect(e.maxAbs).toBeLessThan(MAX_ABS_TOLERANCE);
      // none per step: a few per generation (4 expected, 5-7 measured: docs/speed.md), against one per step
      expect(loop.count).toBeLessThanOrEqual(2 * READBACKS_PER_GENERATION);
      expect(engine.count).toBeGreaterThanOrEqual(STEPS); // the engine's loop reads v back every step
    } finally {
      await context.close();
    }
  });
}
