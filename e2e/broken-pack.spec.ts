// A broken pack is refused with an error naming the file; the page stays usable and keeps
// what the user typed. The pack is broken in flight with request interception (the files on
// disk are untouched). Interception is on the context so it also sees the worker's fetches.

import type { BrowserContext, Route } from '@playwright/test';
import { test, expect } from './fixtures';
import { DEFAULT_STUDENT_WASM_FILE, SHIPPED_PATH, shippedManifest } from './shipped-pack';

const PACK = `**${SHIPPED_PATH}`;

/** A gate the route handler waits on, so the prompt is typed before the error arrives. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

async function corruptFile(context: BrowserContext, file: string, until: Promise<void>): Promise<void> {
  await context.route(PACK + file, async (route: Route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    const mid = body.length >> 1;
    for (let i = mid; i < mid + 16; i++) body.writeUInt8(body.readUInt8(i) ^ 0xa5, i); // same size, other bytes
    await until;
    await route.fulfill({ response, body });
  });
}

// the default student: the one denoiser a load downloads (the others load on first use), on WASM its int8 variant
const DEFAULT_DENOISER = DEFAULT_STUDENT_WASM_FILE;
const CHANNELS = shippedManifest.latent.channels;

test('a corrupted model file gives an error naming it; the prompt survives and Retry works', async ({ app, page }) => {
  const typed = gate();
  await corruptFile(page.context(), DEFAULT_DENOISER, typed.wait);
  await app.goto({ backend: 'wasm' });

  const prompt = 'waves crash on a rocky shore';
  await app.prompt.fill(prompt);
  typed.open();

  await expect(app.alert).toBeVisible({ timeout: 120_000 });
  await expect(app.alert).toContainText(DEFAULT_DENOISER);
  await expect(app.prompt).toHaveValue(prompt);
  await expect(app.generateButton).toBeDisabled();
  await expect(app.generateReason).toHaveText('The model pack could not be loaded');

  // the page is still usable: editing works, and a retry with a good file loads the pack
  await app.prompt.fill(prompt + ' at night');
  await page.context().unrouteAll({ behavior: 'ignoreErrors' });
  await page.getByRole('button', { name: 'Retry loading' }).click();
  await app.waitForReady();
  await expect(app.alert).toBeHidden();
  await expect(app.prompt).toHaveValue(prompt + ' at night');
  await expect(app.generateButton).toBeEnabled();
});

test('a manifest with a wrong sha256 is refused, naming the file', async ({ app, page }) => {
  await page.context().route(PACK + 'manifest.json', async (route) => {
    const response = await route.fetch();
    const manifest = (await response.json()) as { files: Record<string, { sha256: string }> };
    const entry = manifest.files['vocoder.onnx'];
    if (!entry) throw new Error('manifest has no vocoder.onnx entry');
    entry.sha256 = '0'.repeat(64);
    await route.fulfill({ response, json: manifest });
  });
  await app.goto({ backend: 'wasm' });
  await app.prompt.fill('a cat meows');

  await expect(app.alert).toBeVisible({ timeout: 120_000 });
  await expect(app.alert).toContainText('vocoder.onnx');
  await expect(app.prompt).toHaveValue('a cat meows');
});

test('a missing file is refused, naming the file', async ({ app, page }) => {
  await page.context().route(PACK + 'vae_decoder.onnx', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await app.goto({ backend: 'wasm' });

  await expect(app.alert).toBeVisible({ timeout: 120_000 });
  await expect(app.alert).toContainText('vae_decoder.onnx');
  await expect(app.prompt).toBeEditable();
});

test('a manifest whose shapes disagree with its graphs names the graph, the input and both shapes', async ({ app, page }) => {
  // latent.channels doubled from what the graphs were exported for: caught by the warm-up run
  // of the default student (batch 1) before ready
  await page.context().route(PACK + 'manifest.json', async (route) => {
    const response = await route.fetch();
    const manifest = (await response.json()) as { latent: { channels: number } };
    manifest.latent.channels = 2 * CHANNELS;
    await route.fulfill({ response, json: manifest });
  });
  await app.goto({ backend: 'wasm' });
  await app.prompt.fill('a cat meows');

  await expect(app.alert).toBeVisible({ timeout: 120_000 });
  await expect(app.alert.getByTestId('error-file')).toHaveText(DEFAULT_DENOISER);
  await expect(app.alert).toContainText(
    `input "sample" gets shape [1, ${2 * CHANNELS}, 64, 16] from the manifest, but this denoiser graph expects [B, ${CHANNELS}, T, 16]. ` +
      'The manifest and the graph disagree, so the pack is broken: load another pack, or rebuild this one with the factory.',
  );
  await expect(app.prompt).toHaveValue('a cat meows');
});
