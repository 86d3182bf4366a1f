// npm run bench:browser: the CLI bench's table (src/bench/bench-table.ts) run inside Chromium by
// Playwright, on WASM (2 threads, the page cross-origin isolated) and on WebGPU when the adapter is a
// real GPU (a SwiftShader adapter is named and skipped: it would time the CPU).
// Usage: npm run bench:browser -- [--runs N] [--threads N] [--backends wasm,webgpu] [--teacher-steps N]
//        [--precisions auto,float32]   (each backend once per precision, in turn: an A/B in one run)
// Serves bench.html with Vite's dev server (COOP/COEP from vite.config.ts) in its own process, so
// its module transforms never wait on this one; Debian's chromium.

import { parseArgs } from 'node:util';
import { chromium, type Browser } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { startDevServer, waitForServer } from './dev-server';
import type { BenchReply } from '../bench/bench-protocol';
import { PRECISION_PREFERENCES, parsePrecision } from '../runtime/graphs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** a teacher-200 generation on 2 loaded cores takes tens of seconds; a run of the table, minutes */
const TIMEOUT_MS = 30 * 60_000;

const PORT = Number(process.env.SOUNDSTEP_BENCH_PORT ?? 4393);

async function benchIn(browser: Browser, url: string): Promise<BenchReply> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.text().startsWith('bench: ') || m.type() === 'error') console.error(m.text());
  });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  try {
    // the dev server transforms modules on first request: slow on two loaded cores
    // 'commit', not 'load': the result is awaited below, and a dev server busy re-optimizing
    // dependencies can hold the load event for minutes
    await page.goto(url, { timeout: 5 * 60_000, waitUntil: 'commit' });
    if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error(`${url} is not cross-origin isolated`);
    await page.waitForFunction(() => window.__bench !== undefined, undefined, { timeout: TIMEOUT_MS, polling: 1000 });
    return (await page.evaluate(() => window.__bench))!;
  } finally {
    await page.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      threads: { type: 'string', default: '2' },
      backends: { type: 'string', default: 'wasm,webgpu' },
      'teacher-steps': { type: 'string', default: '' },
      precisions: { type: 'string', default: 'auto' },
    },
  });
  const backends = values.backends.split(',').map((b) => b.trim());
  for (const b of backends) if (b !== 'wasm' && b !== 'webgpu') throw new Error(`--backends: wasm or webgpu, got "${b}"`);
  const precisions = values.precisions.split(',').map((p) => p.trim());
  for (const p of precisions) {
    if (!parsePrecision(p)) throw new Error(`--precisions: ${PRECISION_PREFERENCES.join(', ')}, got "${p}"`);
  }
  const teacherSteps = values['teacher-steps'] ? `&teacher-steps=${values['teacher-steps']}` : '';
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    server = startDevServer(PORT);
    const base = `http://127.0.0.1:${PORT}/`;
    await waitForServer(base);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, '--enable-unsafe-webgpu'] });
    console.log(`Chromium ${browser.version()}, ${new Date().toISOString()}`);
    let failed = false;
    for (const backend of backends) {
      for (const precision of precisions) {
        const r = await benchIn(browser, `${base}bench.html?backend=${backend}&threads=${values.threads}&runs=${values.runs}${teacherSteps}&precision=${precision}`);
        if (r.type === 'done') console.log(`\n${backend}: ${r.device}\n${r.table}`);
        else if (r.type === 'skipped') console.log(`\n${backend}: skipped. ${r.reason}`);
        else if (r.type === 'error') {
          console.log(`\n${backend}: error: ${r.message}`);
          failed = true;
        }
      }
    }
    return failed ? 1 : 0;
  } finally {
    await browser?.close();
    server?.kill();
  }
}

process.exitCode = await main();
