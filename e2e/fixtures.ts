// Test fixtures: `app` is a SoundstepPage; the page's console errors are attached on failure.

import { test as base, expect } from '@playwright/test';
import { SoundstepPage } from './pages/SoundstepPage';

export const test = base.extend<{ app: SoundstepPage }>({
  app: async ({ page }, use, testInfo) => {
    const log: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log.push(`[${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
    await use(new SoundstepPage(page));
    if (testInfo.status !== testInfo.expectedStatus && log.length > 0) {
      await testInfo.attach('console', { body: log.join('\n'), contentType: 'text/plain' });
    }
  },
});

export { expect };
