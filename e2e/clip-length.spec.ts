// Longer clips in the page (shipped pack, WASM): the Length control offers the pack's own 2.56 s
// and whole multiples up to 10.24 s (its graphs take longer latents); a 5.12 s sound is a WAV of
// twice the samples with sound in both halves, and regenerating a range of it says why it cannot.

import { test, expect } from './fixtures';
import { parseWav, rms } from './wav';

test('a 5.12 s clip from the Length control, chosen with the keyboard: twice the samples, sound in both halves', async ({ app, page }) => {
  test.setTimeout(300_000);
  await app.goto({ backend: 'wasm' });
  await app.waitForReady(240_000);
  const manifest = await app.manifest();
  const length = page.getByLabel('Length', { exact: true });
  await expect(length.getByRole('option')).toHaveText(['2.56 s (trained length)', '5.12 s', '7.68 s', '10.24 s']);
  await expect(length).toHaveValue('2.56');
  await length.focus();
  await page.keyboard.press('ArrowDown'); // a closed <select> moves to the next option
  await expect(length).toHaveValue('5.12');
  await expect(page.getByTestId('clip-length-help')).toContainText('2× the trained length');

  await app.prompt.fill('a dog barks while rain falls on a roof');
  await app.seed.fill('5');
  await app.generateButton.click();
  await app.waitForAudio(240_000);
  const wav = parseWav(await app.audioBytes());
  expect(wav.numSamples).toBe(2 * manifest.numSamples);
  const half = manifest.numSamples;
  const [a, b] = [rms(wav.samples.subarray(0, half)), rms(wav.samples.subarray(half))];
  console.log(`clip-length: 5.12 s, rms first half ${a.toFixed(4)}, second half ${b.toFixed(4)}`);
  expect(a).toBeGreaterThan(1e-3);
  expect(b).toBeGreaterThan(1e-3);
  const made = await app.result();
  expect(made.request.seconds).toBe(5.12);

  // inpainting works on the trained length: the card says so instead of offering a button that fails
  const card = app.results.first();
  await card.getByText('Regenerate a range').click();
  await expect(card.getByTestId('range-refusal')).toHaveText('Regenerating a range works on sounds of the pack’s own 2.56 s; this one is 5.12 s long.');
  await expect(card.getByRole('button', { name: 'Regenerate this range' })).toBeDisabled();
});
