// A pack from another site waits for the user: the card shows its host and total size (from its
// manifest.json, the only file fetched before the answer), Cancel downloads nothing, Download
// loads it. The shipped pack, served as if from another origin (repacked-pack.ts: request
// interception on the browser context, which also sees the worker's fetches).

import { readFileSync } from 'node:fs';
import { test, expect } from './fixtures';
import { PackPanel } from './pages/PackPanel';
import { REMOTE_ORIGIN, servePack } from './repacked-pack';

const SHIPPED = 'public/models/soundstep-small';
const REMOTE = `${REMOTE_ORIGIN}/shipped-elsewhere/`;

/** The card's size text for the shipped pack: the sum of its manifest's file sizes (formatBytes). */
function shippedSize(): { text: string; files: number } {
  const manifest = JSON.parse(readFileSync(`${SHIPPED}/manifest.json`, 'utf8')) as { files: Record<string, { bytes: number }> };
  const bytes = Object.values(manifest.files).reduce((n, f) => n + f.bytes, 0);
  expect(bytes).toBeGreaterThan(1e6);
  return { text: `${(bytes / 1e6).toFixed(1)} MB`, files: Object.keys(manifest.files).length };
}

test('?pack= on another site shows its host and size and downloads nothing until Download; Cancel loads the shipped pack', async ({
  app,
  page,
}) => {
  const pack = new PackPanel(page);
  const { text: size, files } = shippedSize();
  const requested = await servePack(page.context(), SHIPPED, REMOTE);

  // 1. opened with ?pack=<another site>: asked, only manifest.json fetched
  await app.goto({ backend: 'wasm', pack: REMOTE });
  await expect(pack.consent).toBeVisible({ timeout: 60_000 });
  await expect(pack.consentHost).toHaveText('packs.soundstep.test');
  await expect(pack.consentSize).toHaveText(size);
  await expect(pack.consent).toContainText(`its ${files} files come to ${size}`);
  await expect(pack.consentDownload).toHaveText(`Download ${size}`);
  await page.waitForTimeout(1_500); // nothing else is fetched while the question waits
  expect(requested).toEqual(['manifest.json']);
  await expect(pack.card).toHaveAttribute('data-status', 'idle');
  await expect(app.generateButton).toBeDisabled();

  // 2. Cancel: nothing more from that site; the shipped pack (same origin, not asked) loads instead
  await pack.consentCancel.click();
  await expect(pack.consent).toHaveCount(0);
  await app.waitForReady();
  expect(requested).toEqual(['manifest.json']);
  await expect(page).not.toHaveURL(/[?&]pack=/);
  const shippedName = await pack.summary.locator('strong').innerText();

  // 3. The same pack through the form: asked again; Download fetches its graphs and uses it
  await pack.load(REMOTE);
  await expect(pack.consentHost).toHaveText('packs.soundstep.test');
  await expect(pack.summary.locator('strong')).toHaveText(shippedName); // the pack in use stays while asking
  expect(requested).toEqual(['manifest.json', 'manifest.json']);
  await pack.acceptDownload();
  await pack.waitForStatus('loading');
  await pack.waitForStatus('ready');
  await expect(pack.source).toHaveText('from the network'); // Cache Storage keys files by their URL
  expect(requested.filter((f) => f.endsWith('.onnx')).length).toBeGreaterThan(0);
  await expect(page).toHaveURL(new RegExp(`[?&]pack=${encodeURIComponent(REMOTE).replace(/\./g, '\\.')}`));
});
