// Playwright: the production site exactly as README's "Deploying" says to serve it: `npm run build`,
// then the pinned `serve` on dist/ with the repository's serve.json (COOP, COEP, CORP, CSP).
// Usage: npx playwright test -c playwright.deploy.config.ts   (builds dist/ itself)
//
// Its own config (and folder, e2e/deploy/, which playwright.config.ts ignores) so that its server
// does not replace `vite preview` for the other tests. Debian's chromium, as there.
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.SOUNDSTEP_DEPLOY_PORT ?? 4393);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e/deploy',
  timeout: 240_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results/deploy',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    // serve resolves --config against the folder it serves
    // `npm run build` is `tsc --noEmit && vite build`; the type check is the lint step's job
    command: `npx vite build --logLevel warn && npx serve dist --config ../serve.json --listen tcp://127.0.0.1:${PORT} --no-clipboard --no-port-switching`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: false,
    timeout: 240_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
