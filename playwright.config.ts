// Playwright: the app built and served by `vite preview` (COOP/COEP on), in Debian's chromium.
// Usage: npx playwright test            (both projects)
//        npx playwright test --project=wasm
//
// Never `npx playwright install`: the browser is /usr/bin/chromium (ENVIRONMENT.md).
// Projects: 'wasm' runs the UI tests on the WASM backend; 'webgpu' runs the device-parity
// test with --enable-unsafe-webgpu (SwiftShader adapter: correct but ~90x slower than WASM).
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.SOUNDSTEP_E2E_PORT ?? 4391);
// the production build the tests serve; another folder lets two runs share one working tree
const OUT_DIR = process.env.SOUNDSTEP_E2E_OUT_DIR ?? 'dist';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default defineConfig({
  testDir: 'e2e',
  // a generation on 2 CPU cores takes a while; the WebGPU project is slower still
  timeout: 180_000,
  expect: { timeout: 30_000 },
  // one test at a time: each one loads the pack and saturates the CPU
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'on-first-retry',
    acceptDownloads: true,
    browserName: 'chromium',
    // the service worker (vite-plugin-pwa) would precache ~40 MB in every test's fresh context;
    // the offline app is tested where it is served as deployed (e2e/deploy/offline.spec.ts)
    serviceWorkers: 'block',
  },
  projects: [
    {
      name: 'wasm',
      // e2e/deploy/ has its own server and config (playwright.deploy.config.ts)
      testIgnore: [/webgpu\.spec\.ts/, /[\\/]deploy[\\/]/],
      use: { launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } },
    },
    {
      name: 'webgpu',
      testMatch: /webgpu\.spec\.ts/,
      timeout: 480_000,
      use: { launchOptions: { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] } },
    },
  ],
  webServer: {
    // a fresh production build every run, so the tests see the pack that is in public/ now
    command: `npx vite build --logLevel warn --outDir ${OUT_DIR} && npx vite preview --port ${PORT} --strictPort --outDir ${OUT_DIR}`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
