// Results: variations in one batch (each with player, waveform, log-mel spectrogram and its own
// download name), pictures that differ between seeds and prompts, and Cancel within a step.

import { readFile } from 'node:fs/promises';
import { test, expect } from './fixtures';
import { canvasPixels, distinctColours, meanAbsDiff, nonBackground } from './canvas';
import { parseWav } from './wav';

test('variations: one Generate makes results for seed, seed+1 with pictures drawn and their own file names', async ({ app, page }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const manifest = await app.manifest();
  await app.chooseTeacher();
  await app.prompt.fill('a dog barks');
  await app.setSteps(25);
  await app.seed.fill('100');
  await page.getByLabel('Variations').selectOption('2');
  await expect(page.getByTestId('nfe-total')).toHaveText('100');
  await app.generateButton.click();
  await expect(app.progressText).toHaveText(/^variation 1 of 2 · /);
  await expect(app.progressText).toHaveText(/^variation 2 of 2 · /, { timeout: 60_000 });
  await expect(app.results).toHaveCount(2, { timeout: 60_000 });
  await expect(app.progressbar).toBeHidden();

  const all = await app.allResults();
  expect(all.map((r) => r.request.seed)).toEqual([101, 100]); // newest first
  expect(all.map((r) => r.networkEvaluations)).toEqual([50, 50]);

  const cards = app.results;
  const spectra = [];
  for (let i = 0; i < 2; i++) {
    const card = cards.nth(i);
    await expect(card.locator('.pictures')).toHaveAttribute('data-state', 'drawn');
    await expect(card.getByTestId('audio')).toHaveAttribute('src', /^blob:/);
    const wave = await canvasPixels(card.getByTestId('waveform'));
    // every column draws at least one pixel; a sound that is not silent reaches well beyond the centre line
    expect(nonBackground(wave)).toBeGreaterThan(wave.width * 4);
    const spec = await canvasPixels(card.getByTestId('spectrogram'));
    expect([spec.width, spec.height]).toEqual([manifest.numSamples / 160, 64]); // frames x mels
    expect(distinctColours(spec)).toBeGreaterThan(50);
    spectra.push(spec);

    const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('link', { name: 'Download WAV' }).click()]);
    expect(download.suggestedFilename()).toBe(`a-dog-barks_teacher_25-steps_seed-${all[i]!.request.seed}.wav`);
    const wav = parseWav(new Uint8Array(await readFile(await download.path())));
    expect(wav.numSamples).toBe(manifest.numSamples);
  }
  // another seed, another sound: the spectrograms differ
  expect(meanAbsDiff(spectra[0]!, spectra[1]!)).toBeGreaterThan(3);

  // another prompt with seed 100: its spectrogram differs from the dog's with seed 100
  await page.getByLabel('Variations').selectOption('1');
  await app.prompt.fill('a church bell rings');
  await app.generateButton.click();
  await expect(app.results).toHaveCount(3, { timeout: 60_000 });
  expect((await app.result()).request.seed).toBe(100);
  await expect(cards.first().locator('.pictures')).toHaveAttribute('data-state', 'drawn');
  const bell = await canvasPixels(cards.first().getByTestId('spectrogram'));
  expect(meanAbsDiff(bell, spectra[1]!)).toBeGreaterThan(3);
});

test('Cancel stops a batch within one denoising step; the other variations never start and the page stays usable', async ({ app, page }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  await app.chooseTeacher();
  const prompt = 'a helicopter passes overhead';
  await app.prompt.fill(prompt);
  await app.setSteps(200);
  await page.getByLabel('Variations').selectOption('3');
  await app.generateButton.click();

  await expect(app.progressText).toHaveText(/^variation 1 of 3 · denoise: step ([3-9]|\d\d+) of 200$/);
  await expect(app.cancelButton).toBeFocused();
  await page.keyboard.press('Enter'); // Cancel, from the keyboard

  const note = page.getByTestId('cancel-note');
  await expect(note).toBeVisible();
  await expect(note).toContainText('2 more sounds were not started.');
  const requested = Number(await note.getByTestId('cancel-requested').innerText());
  const stopped = Number(await note.getByTestId('cancel-stopped').innerText());
  expect(requested).toBeGreaterThanOrEqual(3);
  expect(stopped - requested).toBeGreaterThanOrEqual(0);
  expect(stopped - requested).toBeLessThanOrEqual(1); // within one denoising step
  await expect(app.progressbar).toBeHidden();
  expect(await app.allResults()).toEqual([]);
  await expect(app.prompt).toHaveValue(prompt);

  // usable: a new generation runs to the end
  await app.setSteps(25);
  await page.getByLabel('Variations').selectOption('1');
  await app.generateButton.click();
  await expect(app.results).toHaveCount(1, { timeout: 60_000 });
  await expect(note).toBeHidden();
});
