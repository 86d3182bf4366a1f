// Before a byte of a graph is fetched the worker compares the pack's sizes with what the device
// can hold (src/runtime/capacity.ts), and the user can cancel a pack load while it downloads.
// The packs are the shipped one served under other paths by request interception on the context
// (which also sees the worker's fetches): one whose manifest claims a 5 GB denoiser, and one whose
// text encoder is held back until the test has pressed Cancel.

import type { BrowserContext, Route } from '@playwright/test';
import { test, expect } from './fixtures';
import { PackPanel } from './pages/PackPanel';

const REAL_PACK = '/models/soundstep-small/';
const DENOISER = 'denoisers/snr+1-25.onnx';

/**
 * Serves the shipped pack at `path`, recording each file asked for; `manifest` rewrites
 * manifest.json, `hold` delays the answer for a file until the promise settles.
 */
async function servePackAt(
  context: BrowserContext,
  path: string,
  opts: { manifest?: (m: { files: Record<string, { bytes: number }> }) => void; hold?: { file: string; until: Promise<void> } },
): Promise<string[]> {
  const asked: string[] = [];
  await context.route(`**${path}**`, async (route: Route) => {
    const url = new URL(route.request().url());
    const file = url.pathname.slice(url.pathname.indexOf(path) + path.length);
    asked.push(file);
    const response = await route.fetch({ url: new URL(REAL_PACK + file, url.origin).href });
    if (opts.hold?.file === file) await opts.hold.until;
    if (file !== 'manifest.json' || !opts.manifest) return route.fulfill({ response }).catch(() => undefined);
    const m = (await response.json()) as { files: Record<string, { bytes: number }> };
    opts.manifest(m);
    return route.fulfill({ response, json: m });
  });
  return asked;
}

test('a pack WASM cannot hold is refused before its graphs download, saying what it needs and what to do', async ({ app, page }) => {
  const asked = await servePackAt(page.context(), '/e2e-packs/huge/', {
    manifest: (m) => {
      const entry = m.files[DENOISER];
      if (entry) entry.bytes = 5_000_000_000;
    },
  });
  await app.goto({ backend: 'wasm', pack: '/e2e-packs/huge/' });
  await expect(app.alert).toBeVisible({ timeout: 120_000 });
  await expect(app.alert).toContainText(
    /This pack needs 6\.\d\d GB of memory at once \(5\.\d\d GB of weights for the graphs it loads together, plus a 1\.07 GB working margin\), and WASM holds 4\.3 GB \(4 GiB\)\. Nothing was downloaded\. Use a browser and device with WebGPU, or a smaller pack\./,
  );
  await expect(page.getByTestId('pack-status')).toHaveAttribute('data-status', 'failed');
  // only the manifest was read: no graph, tokenizer or anything else
  expect(asked.filter((f) => f !== 'manifest.json')).toEqual([]);
});

test('Cancel stops a pack load: nothing half-written is cached, what finished stays, and Load again finishes it', async ({ app, page }) => {
  test.setTimeout(300_000);
  let release!: () => void;
  const until = new Promise<void>((resolve) => (release = resolve));
  const path = '/e2e-packs/cancel/';
  const asked = await servePackAt(page.context(), path, { hold: { file: 'text_encoder.onnx', until } });
  const pack = new PackPanel(page);
  await app.goto({ backend: 'wasm', pack: path });
  await expect.poll(() => asked.includes('text_encoder.onnx'), { timeout: 120_000 }).toBe(true);
  await page.getByTestId('cancel-load').click();
  await expect(page.getByTestId('load-cancelled')).toBeVisible({ timeout: 60_000 });
  await expect(app.alert).toContainText(/was cancelled\. Files that had finished downloading stay in the browser cache/);
  release();

  // the cache holds the files that finished, not the one that was cancelled
  const cached = async (): Promise<string[]> =>
    page.evaluate(async (p) => {
      const cache = await caches.open('soundstep-packs-v1');
      return (await cache.keys()).map((r) => new URL(r.url).pathname).filter((u) => u.includes(p)).map((u) => u.slice(u.indexOf(p) + p.length));
    }, path);
  const before = await cached();
  expect(before).toContain(DENOISER);
  expect(before).not.toContain('text_encoder.onnx');

  // Load again: the files that finished come from the cache, and the pack loads
  const askedBefore = asked.length;
  await page.getByTestId('load-cancelled').getByRole('button', { name: 'Load again' }).click();
  await app.waitForReady(240_000);
  const again = asked.slice(askedBefore);
  expect(again).toContain('text_encoder.onnx');
  expect(again).not.toContain(DENOISER);
  await expect(pack.summary).toBeVisible();
});
