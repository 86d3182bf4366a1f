// Model packs from a URL (WASM): the shipped pack repacked with ONNX external-data files and
// float16 variants (soundstep_factory.repack), served from another origin, loads through the
// page's form with per-file progress, sounds the same as the shipped pack for the same prompt
// and seed, and loads again offline from Cache Storage. Bad URLs, non-packs, CORS failures,
// damaged and missing files are refused with a sentence naming what is wrong, and the pack
// in use before stays in use.

import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { PackPanel } from './pages/PackPanel';
import type { SoundstepPage } from './pages/SoundstepPage';
import { ensureRepackedPack, goOffline, REMOTE_ORIGIN, REMOTE_PACK_URL, servePack, SOURCE_PACK_PATH } from './repacked-pack';
import { parseWav } from './wav';

const PROMPT = 'a dog barks while rain falls on a roof';
const STEPS = 25;
const SEED = 11;
/** max |sample difference| between the shipped and the repacked float32 pack (16-bit WAV: 1 LSB = 3e-5) */
const AUDIO_TOLERANCE = 1e-3;

let repacked: string;

/** A plain HTTP server for `dir` on 127.0.0.1 (another origin than the app: another port), without CORS headers. */
async function staticServer(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const file = join(dir, ...decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).split('/').filter(Boolean));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
test.beforeAll(() => {
  repacked = ensureRepackedPack();
});

/** Generate PROMPT and return the new result's samples and its time in the worker. */
async function generate(app: SoundstepPage): Promise<{ samples: Float32Array; totalMs: number }> {
  const before = await app.results.count();
  await app.startGeneration(PROMPT, STEPS, SEED);
  await expect(app.results).toHaveCount(before + 1, { timeout: 150_000 });
  await app.waitForAudio();
  const wav = parseWav(await app.audioBytes());
  const result = await app.result();
  expect(result.request.seed).toBe(SEED);
  return { samples: wav.samples, totalMs: result.totalMs };
}

/** Start recording the load phases the page shows (data-phase of the loading line). */
async function recordPhases(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as Window & { __phases?: string[] }).__phases = seen;
    new MutationObserver(() => {
      const phase = document.querySelector('[data-testid=load-phase]')?.getAttribute('data-phase') ?? '';
      if (seen.at(-1) !== phase) seen.push(phase);
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

async function recordedPhases(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as Window & { __phases?: string[] }).__phases ?? []);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('a repacked pack (external data) loads from a URL, sounds like the shipped pack, and reloads offline from the cache', async ({
  app,
  page,
}, testInfo) => {
  const note = (type: string, description: string): void => {
    testInfo.annotations.push({ type, description });
    console.log(`${type}: ${description}`);
  };
  const pack = new PackPanel(page);

  // 1. The shipped pack it was repacked from: warmed up before ready; the first and the second generation
  await app.goto({ backend: 'wasm', pack: SOURCE_PACK_PATH });
  await app.waitForReady();
  const shippedWarmUp = Number(await pack.warmUpMs.innerText());
  expect(shippedWarmUp, 'the warm-up ran before ready').toBeGreaterThan(0);
  const first = await generate(app);
  const second = await generate(app);
  expect(maxAbsDiff(first.samples, second.samples)).toBe(0);
  note(
    'warm-up',
    `shipped pack: warm-up ${shippedWarmUp} ms before ready; ${STEPS}-step generation: first ${(first.totalMs / 1000).toFixed(2)} s, second ${(second.totalMs / 1000).toFixed(2)} s`,
  );

  // 2. The repacked pack from another origin, through the form (keyboard: Enter)
  const requested = await servePack(page.context(), repacked, REMOTE_PACK_URL);
  await recordPhases(page);
  await pack.load(REMOTE_PACK_URL);
  // another site: the card names its host and waits (pack-consent.spec.ts tests the question itself)
  await expect(pack.consentHost).toHaveText(new URL(REMOTE_PACK_URL).host);
  await pack.acceptDownload();
  await expect(pack.phase).toBeVisible();
  await expect(pack.fileRows.first()).toBeVisible();
  await pack.waitForStatus('ready');
  await expect(pack.summary).toBeVisible();
  await expect(pack.source).toHaveText('from the network');
  expect(Number(await pack.warmUpMs.innerText())).toBeGreaterThan(0);
  // the page showed each phase of the load, warming up last, before ready
  expect((await recordedPhases(page)).filter(Boolean)).toEqual(['manifest', 'files', 'sessions', 'warm-up']);
  // WASM keeps float32: the device report says which weights and why
  await expect(pack.devicePrecision).toHaveAttribute('data-dtype', 'float32');
  await expect(pack.devicePrecision).toContainText('float16 variants are for WebGPU, this runs on WASM');
  const files = (await pack.files()).map((f) => f.file);
  // the default student's weights come with the load; the teacher's wait for its first use (on demand)
  expect(files).toContain('denoisers/snr+1-25.onnx.data');
  expect(files).not.toContain('denoisers/teacher.onnx.data');
  expect(files).toContain('text_encoder.onnx.data');
  expect(files.filter((f) => f.includes('.fp16.')), 'float16 files are not downloaded on WASM').toEqual([]);
  expect(requested.filter((f) => f.includes('.fp16.'))).toEqual([]);
  await expect(page).toHaveURL(new RegExp(`[?&]pack=${encodeURIComponent(REMOTE_PACK_URL).replace(/\./g, '\\.')}`));

  const remote = await generate(app);
  const diff = maxAbsDiff(remote.samples, first.samples);
  note('parity', `repacked (external data, float32) vs shipped, ${STEPS} steps seed ${SEED}: max |sample diff| = ${diff.toExponential(3)} (tolerance ${AUDIO_TOLERANCE})`);
  expect(diff).toBeLessThan(AUDIO_TOLERANCE);

  // 3. Offline: every request to the pack's host fails; a reload loads it from Cache Storage
  // the shipped pack and the repacked one
  await expect(pack.cacheUsage).toContainText(/MB in \d+ files \(2 packs\)/);
  const offline = await goOffline(page.context(), REMOTE_PACK_URL);
  await page.reload();
  await pack.waitForStatus('ready');
  await expect(pack.source).toHaveText('from the browser cache (offline: the server could not be reached)');
  expect(offline.length, 'the reload tried the network for manifest.json').toBeGreaterThan(0);
  expect((await pack.files()).every((f) => f.source === 'cache')).toBe(true);
  await expect(app.alert).toHaveCount(0);
  note('cache', `offline reload: ${offline.length} request(s) to ${REMOTE_ORIGIN} failed, ${(await pack.files()).length} files from Cache Storage`);

  // 4. The cache can be measured and cleared
  await pack.clearCache.click();
  await expect(pack.cacheUsage).toContainText('empty');
});

test('bad URLs, non-packs, CORS failures, damaged and missing files are refused clearly; the pack in use stays', async ({
  app,
  page,
}) => {
  const pack = new PackPanel(page);
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const shippedName = await pack.summary.locator('strong').innerText();
  const context = page.context();

  /** Load `url`, expect an error matching `what` (and naming `file`), then the shipped pack in use again. */
  const refused = async (url: string, what: RegExp, file?: string, asked = false): Promise<void> => {
    await pack.load(url);
    // a readable manifest from another site is shown (host, size) before anything else is fetched
    if (asked) await pack.acceptDownload();
    await expect(app.alert).toBeVisible({ timeout: 120_000 });
    await expect(app.alert).toContainText(what);
    if (file) await expect(app.page.getByTestId('error-file')).toHaveText(file);
    await expect(app.alert).toContainText(`(${shippedName}) is still in use`);
    await pack.waitForStatus('ready');
    await expect(pack.summary.locator('strong')).toHaveText(shippedName);
    await expect(pack.urlField).toHaveValue(url);
    await app.page.getByRole('button', { name: 'Dismiss' }).click();
  };

  // a bad URL never leaves the form; the field says why and keeps focus-able state
  await pack.load('ftp://example.org/pack/');
  await expect(pack.urlError).toHaveText(/^Only http and https URLs can be loaded \(this one is ftp:\)/);
  await expect(pack.urlField).toHaveAttribute('aria-invalid', 'true');
  await pack.urlField.fill('');
  await expect(pack.urlError).toHaveCount(0);

  // a folder without manifest.json is not a pack
  await servePack(context, repacked, `${REMOTE_ORIGIN}/nothing-here/`, { missing: ['manifest.json'] });
  await refused(`${REMOTE_ORIGIN}/nothing-here/`, /This URL is not a soundstep model pack/, 'manifest.json');

  // a real server on another origin that sends no CORS headers: the browser refuses its answers
  // (Playwright's route.fulfill is not CORS-checked, so this one is a real HTTP server)
  const noCors = await staticServer(repacked);
  try {
    await refused(`${noCors.url}/`, /could not be fetched .*Access-Control-Allow-Origin/, 'manifest.json');
  } finally {
    await noCors.close();
  }

  // the network fails (offline, DNS)
  await goOffline(context, `${REMOTE_ORIGIN}/offline/`);
  await refused(`${REMOTE_ORIGIN}/offline/`, /you may be offline/, 'manifest.json');

  // a damaged external-data file: the hash mismatch names it
  await servePack(context, repacked, `${REMOTE_ORIGIN}/damaged/`, { damaged: ['vae_decoder.onnx.data'] });
  await refused(`${REMOTE_ORIGIN}/damaged/`, /SHA-256 mismatch.*rebuild or re-upload the pack/, 'vae_decoder.onnx.data', true);

  // a missing file
  await servePack(context, repacked, `${REMOTE_ORIGIN}/incomplete/`, { missing: ['vocoder.onnx.data'] });
  await refused(`${REMOTE_ORIGIN}/incomplete/`, /not found: HTTP 404.*the pack is incomplete/, 'vocoder.onnx.data', true);

  // after all that, the shipped pack is still the one that generates
  await app.prompt.fill('waves');
  await expect(app.generateButton).toBeEnabled();
});
