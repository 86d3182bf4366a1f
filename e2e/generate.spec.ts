// Generation on WASM: the sound plays, is a valid WAV of the pack's length, and downloads.

import { readFile } from 'node:fs/promises';
import { test, expect } from './fixtures';
import { parseWav, rms } from './wav';

test('types a prompt, generates 25 steps on WASM, plays and downloads a valid WAV', async ({ app, page }, testInfo) => {
  await app.goto({ backend: 'wasm' });
  await expect(app.deviceBackend).toHaveText('WASM');
  await expect(app.device).toContainText('WASM (');
  await app.waitForReady();
  const manifest = await app.manifest();
  await app.chooseTeacher();

  await app.startGeneration('a dog barks while rain falls on a roof', 25, 7);
  await expect(app.progressbar).toBeVisible();
  await app.waitForAudio();
  await expect(app.progressbar).toBeHidden();

  // what the <audio> element plays
  const bytes = await app.audioBytes();
  const wav = parseWav(bytes);
  expect(wav.channels).toBe(1);
  expect(wav.sampleRate).toBe(manifest.sampleRate);
  expect(wav.numSamples).toBe(manifest.numSamples);
  const level = rms(wav.samples);
  expect(level, 'generated audio is not silent').toBeGreaterThan(1e-3);

  const result = await app.result();
  expect(result.networkEvaluations).toBe(50); // 25 guided steps, cond + uncond rows
  const summary = `25 steps on WASM: ${(result.totalMs / 1000).toFixed(2)} s, rms ${level.toFixed(4)}`;
  const stages = Object.entries(result.timings).map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`).join(', ');
  testInfo.annotations.push({ type: 'generation', description: summary }, { type: 'timings', description: stages });
  console.log(`generation: ${summary} (${stages})`);

  // the download: same bytes, a name from prompt, steps and seed
  const [download] = await Promise.all([page.waitForEvent('download'), app.downloadLink.click()]);
  expect(download.suggestedFilename()).toBe(result.fileName);
  expect(download.suggestedFilename()).toMatch(/^a-dog-barks-while-rain-falls-on-a-roof_teacher_25-steps_seed-7\.wav$/);
  const path = await download.path();
  const file = new Uint8Array(await readFile(path));
  const dl = parseWav(file);
  expect(dl.riffSize).toBe(file.byteLength - 8);
  expect(dl.dataBytes).toBe(dl.numSamples * dl.channels * (dl.bitsPerSample / 8));
  expect(dl.numSamples).toBe(manifest.numSamples);
  expect(dl.sampleRate).toBe(manifest.sampleRate);
  expect(Buffer.from(file).equals(Buffer.from(bytes))).toBe(true);
});

test('progress shows the denoise stage with step counts, and Cancel stops the run', async ({ app }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  await app.chooseTeacher();
  const prompt = 'a helicopter passes overhead';
  await app.startGeneration(prompt, 200);

  await expect(app.progressText).toHaveText(/^denoise: step \d+ of 200$/);
  const now = Number(await app.progressbar.getAttribute('aria-valuenow'));
  expect(now).toBeGreaterThan(0);
  expect(now).toBeLessThanOrEqual(100);
  await expect(app.progressbar).toHaveAttribute('aria-valuetext', /denoise: step \d+ of 200/);
  await expect(app.cancelButton).toBeFocused();

  await app.cancelButton.click();
  await expect(app.page.getByText('Generation cancelled.')).toBeVisible();
  await expect(app.progressbar).toBeHidden();
  await expect(app.audio).toHaveCount(0);
  await expect(app.prompt).toHaveValue(prompt);
  await expect(app.generateButton).toBeEnabled();
});
