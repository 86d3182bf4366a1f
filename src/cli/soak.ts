// npm run soak: 100 generations in a row in Chromium with the shipped pack's default student
// (WASM), printing the page's JS heap and its memory at generations 1, 10, 50 and 100, so a
// leak shows as growth between the rows. Not a timed test: a script that prints numbers.
// Usage: npm run soak -- [--runs 100] [--at 1,10,50,100] [--dist DIR]
// (--dist: serve a site already built with `vite build --outDir DIR` by Vite's preview server,
// which starts much faster than the dev server on loaded cores)
//
// JS heap: performance.memory.usedJSHeapSize of the page's main thread (precise with
// --enable-precise-memory-info), after a forced GC (DevTools protocol HeapProfiler.collectGarbage).
// Memory: performance.measureUserAgentSpecificMemory() (needs cross-origin isolation, which the
// app has): every JS realm of the page, the generation worker and ORT's WASM threads included.

import { parseArgs } from 'node:util';
import { chromium, type Page } from '@playwright/test';
import { createServer, preview } from 'vite';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--enable-precise-memory-info'];

interface Sample {
  generation: number;
  seconds: number;
  jsHeapMb: number;
  pageMb: number;
  workerMb: number;
}

interface UasmResult {
  bytes: number;
  breakdown: Array<{ bytes: number; attribution: Array<{ scope?: string; url?: string }> }>;
}

const mb = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;

type SoakWindow = Window & { __soundstep?: { getState(): { loadStatus: string; results: Array<{ key: string }>; run: unknown; job: unknown; error: { message: string } | null } } };

/** Forced GC, then the main thread's heap and the page's memory (all realms; workers apart). */
async function measure(page: Page, generation: number, seconds: number): Promise<Sample> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.detach();
  const { heap, uasm } = await page.evaluate(async () => {
    const perf = performance as Performance & { memory?: { usedJSHeapSize: number }; measureUserAgentSpecificMemory?: () => Promise<unknown> };
    const uasm = perf.measureUserAgentSpecificMemory ? await perf.measureUserAgentSpecificMemory() : null;
    return { heap: perf.memory?.usedJSHeapSize ?? NaN, uasm };
  });
  const m = uasm as UasmResult | null;
  const worker = (m?.breakdown ?? [])
    .filter((b) => b.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope'))
    .reduce((n, b) => n + b.bytes, 0);
  return { generation, seconds, jsHeapMb: mb(heap), pageMb: mb(m?.bytes ?? NaN), workerMb: mb(worker) };
}

/** Press Generate and wait until the run ends with one more result (or fail with the page's error). */
/**
 * Press Generate and wait until the run is over with a new newest result (or an error). By the
 * newest result's key, not the count: the page keeps the last 12, so from then on the count stays.
 */
async function generateOnce(page: Page): Promise<void> {
  const newest = () => (window as SoakWindow).__soundstep?.getState().results[0]?.key ?? null;
  const before = await page.evaluate(newest);
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForFunction(
    (key) => {
      const s = (window as SoakWindow).__soundstep?.getState();
      return !!s && ((!s.run && !s.job && (s.results[0]?.key ?? null) !== key) || s.error !== null);
    },
    before,
    { timeout: 10 * 60_000, polling: 250 },
  );
  const error = await page.evaluate(() => (window as SoakWindow).__soundstep?.getState().error?.message ?? null);
  if (error) throw new Error(`generation failed: ${error}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '100' }, at: { type: 'string', default: '1,10,50,100' }, dist: { type: 'string', default: '' } },
  });
  const runs = Number(values.runs);
  const at = new Set(values.at.split(',').map(Number));
  let server: { close(): Promise<void>; resolvedUrls: { local: string[] } | null } | undefined;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    if (values.dist) {
      server = await preview({ configFile: 'vite.config.ts', logLevel: 'warn', preview: { port: 4394, strictPort: false }, build: { outDir: values.dist } });
    } else {
      const dev = await createServer({ configFile: 'vite.config.ts', logLevel: 'warn', server: { port: 4394, strictPort: false } });
      server = await dev.listen();
    }
    const base = server.resolvedUrls?.local[0];
    if (!base) throw new Error('the Vite server has no local URL');
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto(`${base}?backend=wasm`, { timeout: 5 * 60_000 });
    if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the page is not cross-origin isolated');
    await page.waitForFunction(() => (window as SoakWindow).__soundstep?.getState().loadStatus === 'ready', undefined, { timeout: 10 * 60_000, polling: 500 });
    await page.getByLabel('Prompt', { exact: true }).fill('a dog barks while rain falls on a tin roof');
    console.log(`Chromium ${browser.version()}, ${new Date().toISOString()}, ${runs} generations, the pack's default student on WASM`);
    console.log('generation | s/generation | JS heap (main thread, MB) | page memory (all realms, MB) | of it the worker (MB)');
    const samples: Sample[] = [];
    let t0 = performance.now();
    let since = 0;
    for (let i = 1; i <= runs; i++) {
      await generateOnce(page);
      if (at.has(i) || i === runs) {
        const seconds = (performance.now() - t0) / 1000 / (i - since);
        const s = await measure(page, i, seconds);
        samples.push(s);
        console.log(`${s.generation} | ${s.seconds.toFixed(1)} | ${s.jsHeapMb} | ${s.pageMb} | ${s.workerMb}`);
        t0 = performance.now();
        since = i;
      }
    }
    const first = samples[0];
    const last = samples.at(-1);
    if (first && last && first !== last) {
      console.log(`growth from generation ${first.generation} to ${last.generation}: JS heap ${(last.jsHeapMb - first.jsHeapMb).toFixed(1)} MB, page memory ${(last.pageMb - first.pageMb).toFixed(1)} MB`);
    }
  } finally {
    await browser.close();
    await server?.close();
    process.exit(process.exitCode ?? 0); // Vite's watchers would keep the process alive
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
