// The offline app: the built site under serve + serve.json registers its service worker
// (vite-plugin-pwa, Workbox), which precaches the app shell and ORT's .wasm; the app itself keeps
// the pack in Cache Storage. Load once, then block every request to the server, reload, generate.

import { test, expect } from '../fixtures';
import { DEFAULT_STUDENT } from '../shipped-pack';

test('loaded once, the app reloads and generates with every request to the server blocked', async ({ app, page, context }, testInfo) => {
  // 1. online: the page, the pack (cached by the app) and the service worker's precache
  await app.page.goto('/?backend=wasm');
  await app.waitForReady();
  const manifestLink = await page.locator('link[rel=manifest]').getAttribute('href');
  expect(manifestLink).toBe('/manifest.webmanifest');
  const webManifest = await page.evaluate(
    async (href) => (await fetch(href)).json() as Promise<{ name: string; display: string; icons: Array<{ sizes: string }> }>,
    manifestLink ?? '',
  );
  expect(webManifest.display).toBe('standalone');
  expect(webManifest.icons.map((i) => i.sizes)).toEqual(['192x192', '512x512']);
  // the worker is active (installed = precached) and controls the page
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 60_000 }).toBe(true);
  const precached = await page.evaluate(async () => {
    const names = await caches.keys();
    const urls: string[] = [];
    for (const name of names.filter((n) => n.startsWith('workbox-precache'))) {
      for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
    }
    return urls;
  });
  expect(precached).toContain('/index.html');
  expect(precached.filter((u) => u.endsWith('.wasm')).length).toBeGreaterThanOrEqual(1);
  expect(precached.filter((u) => u.startsWith('/models/'))).toEqual([]);

  // 2. offline: the browser has no network, and any request that still reaches Playwright fails
  const blocked: string[] = [];
  await context.route('**/*', async (route) => {
    blocked.push(route.request().url());
    await route.abort('internetdisconnected');
  });
  await context.setOffline(true);

  const response = await page.reload();
  expect(response?.fromServiceWorker()).toBe(true);
  await app.waitForReady();
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(page.getByTestId('pack-source')).toHaveText('from the browser cache (offline: the server could not be reached)');

  // the keyboard walks the step slider from its first stop (1: bsa-1 only) back to 25: the page
  // returns to the default student it downloaded online, not another method's on-demand one
  await app.startGeneration('a dog barks', 25, 7);
  await expect(app.results.or(app.alert)).toBeVisible({ timeout: 150_000 });
  if (await app.alert.isVisible()) throw new Error(`offline generation failed: ${await app.alert.innerText()}`);
  await expect(app.results).toHaveCount(1);
  expect((await app.result()).request.denoiserId).toBe(DEFAULT_STUDENT);
  await app.waitForAudio();
  await expect
    .poll(() => app.audio.evaluate((el: HTMLAudioElement) => (el.readyState >= 1 ? Math.round(el.duration * 100) / 100 : 0)))
    .toBe(2.56);
  const note = `precache: ${precached.length} files (${precached.filter((u) => u.endsWith('.wasm')).length} .wasm); offline reload served by the service worker; requests blocked: ${blocked.length} (${blocked.map((u) => new URL(u).pathname).join(', ')})`;
  testInfo.annotations.push({ type: 'offline', description: note });
  console.log(`offline: ${note}`);
});
