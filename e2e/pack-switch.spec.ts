// A pack load while a batch of variations runs: the batch stops (it never goes on with the new
// pack), says why, and the sounds it made stay, each naming the pack that made it. The other
// pack is the shipped one with another id, name and latent scale (so the same seed sounds
// different), served by request interception on the context (which sees the worker's fetches).

import type { BrowserContext, Locator } from '@playwright/test';
import { test, expect } from './fixtures';
import { PackPanel } from './pages/PackPanel';
import { SHIPPED_PATH as SHIPPED, escapeRegExp, shippedManifest } from './shipped-pack';

const OTHER_URL = '/e2e-packs/other-scale/';
const { id: shippedId, name: shippedName } = shippedManifest;

async function routeOtherPack(context: BrowserContext): Promise<void> {
  await context.route(`**${OTHER_URL}**`, async (route) => {
    const url = new URL(route.request().url());
    const file = url.pathname.slice(url.pathname.indexOf(OTHER_URL) + OTHER_URL.length);
    const response = await route.fetch({ url: new URL(SHIPPED + file, url.origin).href });
    if (file !== 'manifest.json') return route.fulfill({ response });
    const manifest = (await response.json()) as { id: string; name: string; latent: { scale: number } };
    manifest.id = 'soundstep-other';
    manifest.name = 'soundstep other';
    manifest.latent.scale *= 2;
    return route.fulfill({ response, json: manifest });
  });
}

/** The WAV a result card plays, as base64 (read inside the page). */
function cardWav(card: Locator): Promise<string> {
  return card.getByTestId('audio').evaluate(async (el: HTMLAudioElement) => {
    const buf = new Uint8Array(await (await fetch(el.src)).arrayBuffer());
    let s = '';
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return btoa(s);
  });
}

test('loading a pack while a batch runs stops the batch with a message; what it made stays, naming its pack', async ({ app, page }) => {
  test.setTimeout(600_000); // a loaded machine: two pack loads and generations
  await routeOtherPack(page.context());
  const pack = new PackPanel(page);
  await app.goto({ backend: 'wasm' });
  await app.waitForReady(300_000);
  await app.prompt.fill('a dog barks');
  await app.seed.fill('100');
  await page.getByLabel('Variations').selectOption('3');
  await app.generateButton.click();
  await expect(app.results).toHaveCount(1, { timeout: 300_000 });
  await expect(app.progressText).toHaveText(/^variation 2 of 3 · /);

  await pack.load(OTHER_URL);
  const note = page.getByTestId('cancel-note');
  // (variation 2 may finish before the cancel reaches the worker: then it is kept too)
  await expect(note).toHaveText(
    new RegExp(`^The batch of 3 variations stopped because another pack is loading: the (1 sound made by ${escapeRegExp(shippedName)} stays|2 sounds made by ${escapeRegExp(shippedName)} stay)\\. Press Generate to make the rest with the new pack\\. .*1 more sound was not started\\.$`),
  );
  await expect(pack.summary).toContainText('soundstep other', { timeout: 300_000 });
  await expect(app.progressbar).toBeHidden();

  // variation 2 may have finished before the cancel reached the worker; nothing ran on the new pack
  const made = await app.allResults();
  expect(made.length).toBeGreaterThanOrEqual(1);
  expect(made.length).toBeLessThanOrEqual(2);
  expect(made.map((r) => r.request.seed).reverse()).toEqual([100, 101].slice(0, made.length));
  expect(made.map((r) => [r.packId, r.packName, r.packUrl])).toEqual(made.map(() => [shippedId, shippedName, expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+${SHIPPED}$`))]));
  const first = app.results.last();
  await expect(first.getByTestId('result-pack')).toHaveText(` · pack ${shippedName}`);
  const before = await cardWav(first);

  // the same seed on the new pack: a new result naming that pack, with its own sound; the old one is untouched
  await page.getByLabel('Variations').selectOption('1');
  await app.generateButton.click();
  await expect(app.results).toHaveCount(made.length + 1, { timeout: 300_000 });
  const newest = await app.result();
  expect([newest.request.seed, newest.packId, newest.packUrl]).toEqual([100, 'soundstep-other', expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+${OTHER_URL}$`))]);
  await expect(app.results.first().getByTestId('result-pack')).toHaveText(' · pack soundstep other');
  const after = await cardWav(app.results.first());
  expect(after.length).toBe(before.length);
  expect(after).not.toBe(before);
  expect(await cardWav(first)).toBe(before);
});
