// The last results are kept in the browser's real IndexedDB: after a reload they come back,
// play, draw their pictures, and can be deleted one by one or all at once.

import { test, expect } from './fixtures';
import { canvasPixels, distinctColours } from './canvas';
import { parseWav, rms } from './wav';
import { fmtSeconds } from '../src/components/Result/format';

/** Records in the page's IndexedDB (the database the app writes, read directly). */
async function storedKeys(page: import('@playwright/test').Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('soundstep');
        open.onerror = () => reject(open.error ?? new Error('IndexedDB open failed'));
        open.onsuccess = () => {
          const db = open.result;
          const req = db.transaction('results', 'readonly').objectStore('results').getAllKeys();
          req.onsuccess = () => {
            resolve((req.result as string[]).sort());
            db.close();
          };
          req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
        };
      }),
  );
}

test('results survive a reload (real IndexedDB), play and draw; delete one and clear all', async ({ app, page }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const manifest = await app.manifest();
  await app.chooseTeacher();
  await app.prompt.fill('thunder rumbles');
  await app.setSteps(25);
  await app.seed.fill('5');
  await page.getByLabel('Variations').selectOption('2');
  await app.generateButton.click();
  await expect(app.results).toHaveCount(2, { timeout: 90_000 });
  const before = await app.allResults();
  await expect.poll(() => storedKeys(page)).toEqual(before.map((r) => r.key).sort());
  const bytesBefore = await app.audioBytes();

  await page.reload();
  await expect(app.results).toHaveCount(2);
  const after = await app.allResults();
  expect(after.map((r) => [r.key, r.request.seed, r.fileName, r.networkEvaluations])).toEqual(
    before.map((r) => [r.key, r.request.seed, r.fileName, r.networkEvaluations]),
  );
  const newest = app.results.first();
  await expect(newest.getByTestId('result-meta')).toContainText('kept from an earlier visit');
  await expect(newest.getByTestId('result-cost')).toHaveText(`Took ${fmtSeconds(before[0]!.totalMs)} · 50 network evaluations`);

  // the same WAV bytes, and the player plays them
  const bytesAfter = await app.audioBytes();
  expect(Buffer.from(bytesAfter).equals(Buffer.from(bytesBefore))).toBe(true);
  const wav = parseWav(bytesAfter);
  expect(wav.numSamples).toBe(manifest.numSamples);
  expect(rms(wav.samples)).toBeGreaterThan(1e-3);
  const audio = newest.getByTestId('audio');
  await audio.evaluate((el: HTMLAudioElement) => el.play());
  await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime)).toBeGreaterThan(0);
  expect(await audio.evaluate((el: HTMLAudioElement) => el.duration)).toBeCloseTo(manifest.numSamples / manifest.sampleRate, 2);
  await audio.evaluate((el: HTMLAudioElement) => el.pause());
  await expect(newest.locator('.pictures')).toHaveAttribute('data-state', 'drawn');
  expect(distinctColours(await canvasPixels(newest.getByTestId('spectrogram')))).toBeGreaterThan(50);

  // delete the newest (seed 6): gone from the page and from IndexedDB, also after a reload
  await newest.getByRole('button', { name: 'Delete “thunder rumbles”, seed 6' }).click();
  await expect(app.results).toHaveCount(1);
  await expect(page.getByRole('heading', { name: /^Results/ })).toBeFocused(); // focus is not lost with the card
  await expect.poll(() => storedKeys(page)).toEqual([before[1]!.key]);
  await page.reload();
  await expect(app.results).toHaveCount(1);
  expect((await app.result()).request.seed).toBe(5);

  // clear all asks first; "Keep them" keeps them
  await page.getByRole('button', { name: 'Clear all' }).click();
  await page.getByRole('button', { name: 'Keep them' }).click();
  await expect(app.results).toHaveCount(1);
  await page.getByRole('button', { name: 'Clear all' }).click();
  await page.getByRole('button', { name: 'Delete all 1' }).click();
  await expect(app.results).toHaveCount(0);
  await expect.poll(() => storedKeys(page)).toEqual([]);
  await page.reload();
  await app.waitForReady();
  await expect(app.results).toHaveCount(0);
});
