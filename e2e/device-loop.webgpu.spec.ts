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
// The engine's loop (src/engine/sample.ts, as before the device loop), run on the same page through
// the worker's test hook __soundstepHostLoop, makes 1 + 25 + 2 = 28 for a 25-step generation: the
// test measures that too, with both loops' denoise time per step (SwiftShader: the CPU).

import type { Page, Worker } from '@playwright/test';
import { test, expect } from './fixtures';
import { SoundstepPage } from './pages/SoundstepPage';
import { parseWav } from './wav';

const READBACKS_PER_GENERATION = 4;
/** the engine's loop: one readback of v per step besides those 4 fixed ones */
const HOST_LOOP_READBACKS = READBACKS_PER_GENERATION + 25;
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

/** Wraps mapAsync in the generation worker (once) and zeroes its counter. */
async function resetReadbacks(page: Page): Promise<void> {
  await generationWorker(page).evaluate(() => {
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
  });
}

const readbacks = (page: Page): Promise<number> =>
  generationWorker(page).evaluate(() => (self as unknown as { __readbacks?: number }).__readbacks ?? -1);

/** Generates PROMPT at SEED (25 steps; the teacher when `teacher`) and returns the audio samples. */
interface Made {
  samples: Float32Array;
  totalMs: number;
  /** denoise stage ms per step */
  stepMs: number;
}

async function generate(app: SoundstepPage, teacher: boolean, count: number): Promise<Made> {
  if (teacher) await app.chooseTeacher();
  else await app.page.getByRole('radio', { name: 'Student' }).check();
  await app.startGeneration(PROMPT, 25, SEED);
  await expect(app.results).toHaveCount(count, { timeout: 900_000 });
  const result = await app.result();
  expect(result.request.seed).toBe(SEED);
  expect(result.request.denoiserId).toBe(teacher ? 'teacher' : 'snr+1-25');
  const stepMs = (result.timings['denoise'] ?? NaN) / result.request.steps;
  return { samples: parseWav(await app.audioBytes()).samples, totalMs: result.totalMs, stepMs };
}

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

test('the WebGPU loop reads back a fixed number of times per generation and matches the WASM audio', async ({ browser }, testInfo) => {
  test.setTimeout(2_400_000); // SwiftShader: a 25-step generation takes minutes
  const note = (description: string): void => {
    testInfo.annotations.push({ type: 'device-loop', description });
    console.log(`device-loop: ${description}`);
  };
  const context = await browser.newContext();
  try {
    // 1. WASM: the reference audio, student and guided teacher (pages one after the other: they share the cores)
    const cpu = new SoundstepPage(await context.newPage());
    await cpu.goto({ backend: 'wasm' });
    await cpu.waitForReady();
    const wasmStudent = await generate(cpu, false, 1);
    const wasmTeacher = await generate(cpu, true, 2);
    await cpu.page.close();

    // 2. WebGPU: the same two, counting readbacks in the generation worker
    const gpu = new SoundstepPage(await context.newPage());
    await gpu.goto({ backend: 'webgpu' });
    await expect(gpu.deviceBackend).toHaveText('WebGPU', { timeout: 120_000 });
    await gpu.waitForReady(600_000);
    await resetReadbacks(gpu.page);
    const gpuStudent = await generate(gpu, false, 3); // the history brings the WASM page's 2 back
    const studentReadbacks = await readbacks(gpu.page);
    await resetReadbacks(gpu.page);
    const gpuTeacher = await generate(gpu, true, 4);
    const teacherReadbacks = await readbacks(gpu.page);
    // 3. the engine's loop on the same page (the worker's test hook), for the readbacks and time it replaces
    await generationWorker(gpu.page).evaluate(() => {
      (self as unknown as { __soundstepHostLoop?: boolean }).__soundstepHostLoop = true;
    });
    await resetReadbacks(gpu.page);
    const hostStudent = await generate(gpu, false, 5);
    const hostReadbacks = await readbacks(gpu.page);

    const student = compare(gpuStudent.samples, wasmStudent.samples);
    const teacher = compare(gpuTeacher.samples, wasmTeacher.samples);
    const host = compare(hostStudent.samples, wasmStudent.samples);
    note(`readbacks per generation: student 25 steps ${studentReadbacks}, guided teacher 25 steps ${teacherReadbacks} (expected ${READBACKS_PER_GENERATION}); the engine's loop, student ${hostReadbacks}`);
    note(`student audio vs WASM: max abs ${student.maxAbs.toExponential(3)}, rel RMS ${student.relRms.toExponential(3)}`);
    note(`teacher audio vs WASM: max abs ${teacher.maxAbs.toExponential(3)}, rel RMS ${teacher.relRms.toExponential(3)}`);
    note(`engine's loop on WebGPU, student audio vs WASM: max abs ${host.maxAbs.toExponential(3)}, rel RMS ${host.relRms.toExponential(3)}`);
    const ms = (m: Made): string => `${m.stepMs.toFixed(0)} ms/step (total ${m.totalMs.toFixed(0)} ms)`;
    note(`denoise, SwiftShader: student device loop ${ms(gpuStudent)}, engine's loop ${ms(hostStudent)}; teacher device loop ${ms(gpuTeacher)}`);
    note(`denoise, WASM: student ${ms(wasmStudent)}, teacher ${ms(wasmTeacher)}`);
    note(`total ms: student ${wasmStudent.totalMs.toFixed(0)} WASM, ${gpuStudent.totalMs.toFixed(0)} WebGPU (SwiftShader); teacher ${wasmTeacher.totalMs.toFixed(0)} WASM, ${gpuTeacher.totalMs.toFixed(0)} WebGPU (SwiftShader)`);

    expect(studentReadbacks).toBe(READBACKS_PER_GENERATION);
    expect(teacherReadbacks).toBe(READBACKS_PER_GENERATION);
    expect(hostReadbacks).toBe(HOST_LOOP_READBACKS);
    for (const d of [student, teacher, host]) {
      expect(d.maxAbs).toBeLessThan(MAX_ABS_TOLERANCE);
      expect(d.relRms).toBeLessThan(REL_RMS_TOLERANCE);
    }
  } finally {
    await context.close();
  }
});
