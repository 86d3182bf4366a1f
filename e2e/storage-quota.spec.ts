// Storage: before a pack file is cached the worker checks navigator.storage.estimate(); with a
// small quota (set through Chromium's DevTools protocol) the pack still loads and generates, and
// the pack card says plainly that it will not be available offline, which file did not fit,
// and what to do. With the quota back, loading it again keeps it offline and asks for
// persistent storage.

import { test, expect } from './fixtures';
import { PackPanel } from './pages/PackPanel';

const QUOTA = 5_000_000;

// FIXME (issue 20, open): Chromium 156 ignores Storage.overrideQuotaForOrigin here, whether sent
// before the page opens the origin or after (navigator.storage.estimate() still reports 10.7 GB),
// so this spec cannot set up its small quota yet; the quota logic itself is tested in vitest
// (src/worker/offline-keeper.test.ts). Find a quota override that takes, then drop the fixme.
test.fixme('a small storage quota: the pack works, and the card says why it will not be available offline', async ({ app, page, baseURL }) => {
  test.setTimeout(600_000); // a loaded machine: two pack loads and a generation
  const origin = new URL(baseURL ?? '').origin;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: QUOTA });
  const pack = new PackPanel(page);
  await app.goto({ backend: 'wasm' });
  await app.waitForReady(300_000);
  expect(await page.evaluate(async () => (await navigator.storage.estimate()).quota)).toBe(QUOTA);

  // files are cached in manifest order: build_log.json and bsa-100 (2.6 MB) fit in 5 MB, bsa-25 does not
  const offline = page.getByTestId('pack-offline');
  await expect(offline).toHaveAttribute('data-available', 'false');
  await expect(offline).toHaveText(
    /^Not available offline: denoisers\/bsa-25\.onnx \(2\.6 MB\) does not fit in the storage this browser gives this site \(\d\.\d MB free of 5\.0 MB\)\. Free some space \(Clear cache below, or other sites' data in the browser's settings\) and load the pack again to keep it\. It works online as it is; until then it is downloaded again on every visit\.$/,
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
