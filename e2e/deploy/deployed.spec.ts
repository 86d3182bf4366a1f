// The built site served by `serve` with serve.json, as README's "Deploying" says: the page is
// cross-origin isolated, ONNX Runtime runs WASM on more than one thread, the headers are the
// repository's, a generation with the shipped pack completes under that CSP, and no request
// (page or worker) leaves the origin.

import { readFileSync } from 'node:fs';
import { test, expect } from '../fixtures';

interface ServeConfig {
  headers: Array<{ source: string; headers: Array<{ key: string; value: string }> }>;
}

/** The headers serve.json sends on every path. */
function servedHeaders(): Record<string, string> {
  const config = JSON.parse(readFileSync('serve.json', 'utf8')) as ServeConfig;
  const all = config.headers.find((h) => h.source === '**');
  if (!all) throw new Error('serve.json has no "**" rule');
  return Object.fromEntries(all.headers.map((h) => [h.key.toLowerCase(), h.value]));
}

test('public/_headers and the nginx snippet in docs/deploying.md send what serve.json sends', () => {
  const served = servedHeaders();
  const block = readFileSync('public/_headers', 'utf8').split('\n/assets/*')[0] ?? '';
  const netlify = Object.fromEntries(
    [...block.matchAll(/^ {2}([A-Za-z-]+): (.+)$/gm)].map((m) => [(m[1] ?? '').toLowerCase(), m[2] ?? '']),
  );
  expect(netlify).toEqual(served);
  const nginx = Object.fromEntries(
    [...readFileSync('docs/deploying.md', 'utf8').matchAll(/^add_header ([A-Za-z-]+) "(.+)" always;$/gm)].map((m) => [(m[1] ?? '').toLowerCase(), m[2] ?? '']),
  );
  expect(nginx).toEqual(served);
});

test('the built site under serve + serve.json: isolated, threaded WASM, CSP, a generation, nothing off the origin', async ({ app, page, baseURL }, testInfo) => {
  const origin = new URL(baseURL ?? '').origin;
  const requests: string[] = [];
  // the browser context sees the page's and the workers' requests
  await page.context().route('**/*', async (route) => {
    requests.push(route.request().url());
    await route.continue();
  });
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to load: CSP ${e.violatedDirective} ${e.blockedURI}`));
  });

  const response = await app.page.goto('/?backend=wasm');
  const headers = response?.headers() ?? {};
  const expected = servedHeaders();
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
  expect(headers['cross-origin-resource-policy']).toBe('same-origin');
  expect(headers['content-security-policy']).toBe(expected['content-security-policy']);
  expect(headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

  await app.waitForReady();
  const device = await page.evaluate(() => (window as Window & { __soundstep?: { getState(): { device: { backend: string; threads: number; reason: string } | null } } }).__soundstep?.getState().device ?? null);
  expect(device?.backend).toBe('wasm');
  expect(device?.threads).toBeGreaterThan(1);
  expect(device?.reason).toContain(`WASM (${device?.threads ?? 0} threads)`);

  await app.startGeneration('a dog barks', 25, 7);
  await expect(app.results).toHaveCount(1, { timeout: 150_000 });
  await app.waitForAudio();
  // the player reads its WAV from a blob: URL (media-src): 2.56 s at 16 kHz. (The page never
  // fetch()es blob: URLs, so connect-src does not allow them and audioBytes() cannot be used.)
  await expect
    .poll(() => app.audio.evaluate((el: HTMLAudioElement) => (el.readyState >= 1 ? Math.round(el.duration * 100) / 100 : 0)))
    .toBe(2.56);

  // the dedicated workers running now, nested ones included (Chromium's DevTools protocol): the
  // generation worker and ORT's WASM threads
  const cdp = await page.context().newCDPSession(page);
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; url: string; title: string }> };
  const workers = targetInfos.filter((t) => t.type === 'worker');
  const pthreads = workers.filter((w) => w.title === 'em-pthread').length;
  expect(workers.map((w) => w.title)).toContain('soundstep-generate');
  // ORT runs on the calling thread plus a pool of (threads - 1) Emscripten pthreads
  expect(pthreads).toBeGreaterThanOrEqual(Math.max(1, (device?.threads ?? 0) - 1));

  expect(violations).toEqual([]);
  const foreign = requests.filter((u) => new URL(u).origin !== origin);
  expect(foreign).toEqual([]);
  expect(requests.some((u) => u.endsWith('.wasm'))).toBe(true);
  const note = `crossOriginIsolated true; ${device?.reason ?? ''}, ${pthreads} ORT pthread worker(s); ${requests.length} requests, all to ${origin}; CSP: ${headers['content-security-policy'] ?? ''}`;
  testInfo.annotations.push({ type: 'deploy', description: note });
  console.log(`deploy: ${note}`);
});
