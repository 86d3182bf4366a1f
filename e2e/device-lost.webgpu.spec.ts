// A lost WebGPU device (the 'webgpu' project: --enable-unsafe-webgpu, SwiftShader). The test
// destroys the GPUDevice the worker's onnxruntime-web runs on (reached through the worker's one
// test hook, __soundstepGpuDevice) while a generation denoises: the worker rebuilds the pack on
// WASM and the page says so in one sentence; Retry makes the interrupted sound with one click;
// the result made before is still there.

import { test, expect } from './fixtures';

test('a lost WebGPU device: rebuilt on WASM, said in one sentence, Retry makes the sound; earlier results stay', async ({ app, page }) => {
  test.setTimeout(900_000); // SwiftShader is ~90x slower than WASM
  // a result made before, on WASM (quick); the history brings it back on the next page
  await app.goto({ backend: 'wasm' });
  await app.waitForReady(300_000);
  await app.prompt.fill('a dog barks');
  await app.generateButton.click();
  await app.waitForAudio(300_000);
  const kept = await app.result();

  await app.goto({ backend: 'webgpu' });
  await expect(app.deviceBackend).toHaveText('WebGPU', { timeout: 120_000 });
  await app.waitForReady(600_000);
  await expect(app.results).toHaveCount(1);
  await app.prompt.fill('rain on a tin roof');
  await app.generateButton.click();
  await expect(app.progressText).toHaveText(/denoise: step [1-9]/, { timeout: 300_000 });

  // Only the generation worker: ORT's WASM thread workers wait in Atomics.wait and never answer
  // evaluate(), so asking every worker hangs the test (it did, for 15 min, in CI).
  const generators = page.workers().filter((w) => w.url().includes('generate.worker'));
  expect(generators).toHaveLength(1);
  let destroyed = 0;
  for (const worker of generators) {
    const found = await worker.evaluate(() => {
      const device = (self as { __soundstepGpuDevice?: { destroy(): void } }).__soundstepGpuDevice;
      device?.destroy();
      return device !== undefined;
    });
    if (found) destroyed++;
  }
  expect(destroyed).toBe(1);

  await expect(app.alert).toHaveText(
    /^Generation failed\. The graphics device stopped working \(WebGPU: .+\), so soundstep now runs on WASM; press Retry to make the interrupted sound again\./,
  );
  await expect(app.deviceBackend).toHaveText('WASM', { timeout: 300_000 });
  await expect(app.device).toContainText('WebGPU: the device was lost (');
  await expect(app.results).toHaveCount(1);
  expect((await app.result()).key).toBe(kept.key);
  await expect(app.prompt).toHaveValue('rain on a tin roof');

  await app.alert.getByRole('button', { name: 'Retry', exact: true }).click();
  await expect(app.results).toHaveCount(2, { timeout: 300_000 });
  const made = await app.result();
  expect(made.request.prompt).toBe('rain on a tin roof');
  expect((await app.allResults()).map((r) => r.key)).toContain(kept.key);
  await expect(app.alert).toBeHidden();
});
