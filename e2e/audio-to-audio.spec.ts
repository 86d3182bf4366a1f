// Audio-to-audio (SDEdit, docs/sampling.md E22) in the page. The default pack has a VAE encoder,
// so the control is enabled; the first shipped pack (soundstep-small) has none: there it is shown
// disabled with the reason. The factory's micro pack has one
// (src/testing/micro-pack.ts builds it), served same-origin by request interception: a WAV file
// chosen with setInputFiles is resampled, shown with what was done, and generated from; at a low
// strength the result stays nearer the sound's own latent than at strength 1. A file that is not a sound is
// refused in words and the sound chosen before stays; the microphone (Chromium's fake device)
// records one clip.

import { test, expect } from './fixtures';
import { ensureMicroPack } from '../src/testing/micro-pack';
import { servePack } from './repacked-pack';
import { shippedManifest } from './shipped-pack';

const PACK_PATH = '/e2e-packs/micro/';
const RATE = 44100;
const SECONDS = 2.56;

// Chromium's fake microphone (a beep) and no permission prompt
test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  },
  permissions: ['microphone'],
});

/** A 16-bit PCM stereo WAV at 44.1 kHz: a 330 Hz tone loud in the first half, silent in the second. */
function burstWav(): Buffer {
  const n = Math.round(RATE * SECONDS);
  const body = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    const loud = i < n / 2 ? 0.6 : 0;
    const v = Math.round(loud * Math.sin((2 * Math.PI * 330 * i) / RATE) * 32767);
    body.writeInt16LE(v, i * 4);
    body.writeInt16LE(v, i * 4 + 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + body.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(body.length, 40);
  return Buffer.concat([h, body]);
}

/** Root-mean-square distance of two latents of the same shape. */
function distance(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return Math.sqrt(a.reduce((sum, v, i) => sum + (v - b[i]!) ** 2, 0) / a.length);
}

test('the default pack takes a sound; a pack without a VAE encoder disables the control and says why', async ({ app, page }) => {
  test.setTimeout(400_000);
  await app.goto({ backend: 'wasm' });
  await app.waitForReady(300_000);
  expect(shippedManifest.vae_encoder, 'the default pack ships a VAE encoder').toBeDefined();
  await expect(page.getByLabel('Sound file')).toBeEnabled();
  await expect(page.getByTestId('sound-input-reason')).toHaveCount(0);

  await app.goto({ backend: 'wasm', pack: '/models/soundstep-small/' }); // exported before vae_encoder.onnx existed
  await app.waitForReady(300_000);
  await expect(page.getByTestId('sound-input-reason')).toContainText('it has no VAE encoder');
  await expect(page.getByLabel('Sound file')).toBeDisabled();
});

test('a WAV file is resampled and generated from: a low strength stays near its latent, strength 1 does not', async ({ app, page, context, baseURL }) => {
  test.setTimeout(400_000);
  const dir = ensureMicroPack();
  await servePack(context, dir, new URL(PACK_PATH, baseURL).href);
  await app.goto({ backend: 'wasm', pack: PACK_PATH });
  await app.waitForReady(300_000);
  await expect(page.getByTestId('pack-summary')).toContainText('micro');

  const input = page.getByLabel('Sound file');
  // not a sound: refused in words
  await input.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a sound at all') });
  await expect(page.getByTestId('sound-input-error')).toContainText('“notes.txt” is not a sound this browser can read');
  // a WAV at 44.1 kHz, stereo
  await input.setInputFiles({ name: 'burst.wav', mimeType: 'audio/wav', buffer: burstWav() });
  const chosen = page.getByTestId('sound-input-chosen');
  await expect(chosen).toContainText('burst.wav');
  await expect(chosen).toContainText('2 channels mixed to one; resampled from 44100 Hz to 16000 Hz');
  await expect(page.getByTestId('sound-input-error')).toBeHidden();
  // a bad file after it leaves it chosen
  await input.setInputFiles({ name: 'empty.wav', mimeType: 'audio/wav', buffer: Buffer.from('RIFF') });
  await expect(page.getByTestId('sound-input-error')).toBeVisible();
  await expect(chosen).toContainText('burst.wav');

  // E22 in the page, from the keyboard: strength 0 (Home) is the sound's own latent, 0.1 (two steps
  // of 0.05) runs the last few steps from it, 1 (End) starts from pure noise. Whatever the micro
  // pack's quality (its VAE and vocoder train for 6 steps), 0.1 ends nearer the sound's latent.
  await app.prompt.fill('a piano plays a melody');
  const strength = page.getByRole('slider', { name: /Strength/ });
  const latentAt = async (keys: string[], shown: string, count: number): Promise<number[]> => {
    await strength.focus();
    for (const key of keys) await page.keyboard.press(key);
    await expect(page.getByTestId('strength-value')).toHaveText(shown);
    await page.getByRole('button', { name: 'Generate from this sound' }).click();
    await expect(app.results).toHaveCount(count, { timeout: 300_000 });
    await app.waitForAudio();
    const result = await app.result();
    expect(result.request.edit).toMatchObject({ kind: 'audio', strength: Number(shown) });
    return page.evaluate(() => {
      const latent = (window as unknown as { __soundstep?: { getState(): { results: { latent?: Float32Array }[] } } })
        .__soundstep?.getState().results[0]?.latent;
      return latent ? Array.from(latent) : [];
    });
  };
  const own = await latentAt(['Home'], '0', 1);
  const low = await latentAt(['Home', 'ArrowRight', 'ArrowRight'], '0.1', 2);
  await expect(app.results.first().getByTestId('edit-note')).toHaveText(' · from a sound, strength 0.1');
  const high = await latentAt(['End'], '1', 3);
  expect(own.length).toBeGreaterThan(0);
  const [nearLow, nearHigh] = [distance(low, own), distance(high, own)];
  console.log(`audio-to-audio: latent distance to the sound's own, strength 0.1 ${nearLow.toFixed(3)}, strength 1 ${nearHigh.toFixed(3)}`);
  expect(nearLow).toBeGreaterThan(0); // the steps ran
  expect(nearLow).toBeLessThan(0.5 * nearHigh);
});

test('records a clip from the (fake) microphone', async ({ app, page, context, baseURL }) => {
  test.setTimeout(300_000);
  await servePack(context, ensureMicroPack(), new URL(PACK_PATH, baseURL).href);
  await app.goto({ backend: 'wasm', pack: PACK_PATH });
  await app.waitForReady(300_000);
  await app.prompt.fill('a bell rings'); // the button also waits for a prompt
  await page.getByRole('button', { name: /^Record / }).click();
  await expect(page.getByTestId('sound-input-chosen')).toContainText('microphone recording', { timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Generate from this sound' })).toBeEnabled();
});
