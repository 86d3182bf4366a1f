// The README's picture of the page, taken by this test on the shipped pack at 1280 x 1400 (WASM):
// one sound made with the default 25-step student, the comparison panel beside it with the
// factory's chart. The test checks what the picture must show before taking it; it writes
// docs/page.png only when asked (`npm run screenshot`), else into its own output folder, so
// `npm test` never changes the tree.

import { test, expect } from './fixtures';

test('screenshot for the README: a made sound and the comparison panel beside the generator', async ({ app, page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 1400 });
  await app.goto({ backend: 'wasm' });
  await app.waitForReady(240_000);
  await app.prompt.fill('a trumpet plays while a woman speaks');
  await app.seed.fill('4');
  await app.generateButton.click();
  await app.waitForAudio(240_000);
  await expect(app.results).toHaveCount(1);
  await expect(page.getByTestId('student-id')).toContainText('distilled for 25 steps'); // the default is a student

  const form = page.getByRole('form', { name: 'Describe a sound' });
  const panel = page.getByRole('complementary', { name: 'Comparison of steps and methods' });
  await expect(panel.locator('canvas').first()).toBeVisible(); // the metrics chart
  const [f, p] = [await form.boundingBox(), await panel.boundingBox()];
  expect(f && p && p.x >= f.x + f.width).toBe(true);

  await page.evaluate(() => window.scrollTo(0, 0)); // the page from its title, not where the result scrolled it
  const path = process.env.SOUNDSTEP_SCREENSHOT ?? testInfo.outputPath('page.png');
  const png = await page.screenshot({ path, fullPage: false });
  // a PNG of the viewport: the signature, then IHDR's width and height
  expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1280, 1400]);
  console.log(`screenshot: ${path} (${(png.byteLength / 1024).toFixed(0)} kB)`);
});
