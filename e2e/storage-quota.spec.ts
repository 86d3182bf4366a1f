// Storage: with a small quota (set through Chromium's DevTools protocol) the pack still loads and
// generates, and the pack card says plainly that it will not be available offline, which file did
// not fit, and what to do. With the quota back, loading it again keeps it offline and asks for
// persistent storage.
//
// Chromium's navigator.storage.estimate() reports a static quota (usage + 10 GiB, against
// fingerprinting) whatever the override says, so the worker's estimate check cannot see this
// quota; the store's QuotaExceededError is what tells, as it would for a user with a full disk.
// The estimate path (browsers that report the real quota) is tested in
// src/worker/offline-keeper.test.ts.

import { test, expect } from './fixtures';
import { PackPanel } from './pages/PackPanel';

const QUOTA = 5_000_000;

test('a small storage quota: the pack works, and the card says why it will not be available offline', async ({ app, page, baseURL }) => {
  test.setTimeout(600_000); // a loaded machine: two pack loads and a generation
  const origin = new URL(baseURL ?? '').origin;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: QUOTA });
  const pack = new PackPanel(page);
  await app.goto({ backend: 'wasm' });
  await app.waitForReady(300_000);
  const usage = (await cdp.send('Storage.getUsageAndQuota', { origin })) as { quota: number; overrideActive: boolean; usage: number };
  expect(usage).toMatchObject({ quota: QUOTA, overrideActive: true });
  expect(usage.usage).toBeLessThanOrEqual(QUOTA);

  // files are cached in manifest order until one does not fit in the 5 MB (which one depends on the
  // pack and on what the browser counts: a graph or golden.json, 2.2 MB, on soundstep-small-next)
  const offline = page.getByTestId('pack-offline');
  await expect(offline).toHaveAttribute('data-available', 'false');
  await expect(offline).toHaveText(
    /^Not available offline: [\w/+.-]+\.(onnx|json) \(\d+\.\d MB\) does not fit in the storage this browser gives this site \(the browser refused it: quota exceeded\)\. Free some space \(Clear cache below, or other sites' data in the browser's settings\) and load the pack again to keep it\. It works online as it is; until then it is downloaded again on every visit\.$/,
  );
  // nothing is lost: the pack works online
  await app.prompt.fill('a dog barks');
  await app.generateButton.click();
  await app.waitForAudio();
  await expect(app.results).toHaveCount(1);

  // room again: the next load keeps it, and the page asked the browser to keep it for good
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await pack.load('/models/soundstep-small/');
  await expect(offline).toHaveAttribute('data-available', 'true', { timeout: 300_000 });
  await expect(offline).toHaveAttribute('data-persisted', /^(granted|denied)$/);
  await expect(offline).toContainText('Available offline: every file this pack loaded is kept in this browser.');
  await expect(app.results).toHaveCount(1);
});
