// Page object for the "Model pack" card: the URL form, per-file progress, how the pack was
// loaded (source, weights, warm-up) and the browser cache.

import { expect, type Locator, type Page } from '@playwright/test';

export class PackPanel {
  readonly card: Locator;
  readonly urlField: Locator;
  readonly loadButton: Locator;
  readonly urlError: Locator;
  readonly summary: Locator;
  readonly source: Locator;
  readonly warmUpMs: Locator;
  readonly precision: Locator;
  readonly devicePrecision: Locator;
  readonly phase: Locator;
  readonly fileRows: Locator;
  readonly cacheUsage: Locator;
  readonly clearCache: Locator;
  /** the question before a pack from another site is downloaded: host, total size, Download, Cancel */
  readonly consent: Locator;
  readonly consentHost: Locator;
  readonly consentSize: Locator;
  readonly consentDownload: Locator;
  readonly consentCancel: Locator;

  constructor(readonly page: Page) {
    this.card = page.getByTestId('pack-status');
    this.urlField = page.getByLabel('Pack URL');
    this.loadButton = this.card.getByRole('button', { name: /^Load/ });
    this.urlError = page.getByTestId('pack-url-error');
    this.summary = page.getByTestId('pack-summary');
    this.source = page.getByTestId('pack-source');
    this.warmUpMs = page.getByTestId('warm-up-ms');
    this.precision = page.getByTestId('pack-precision');
    this.devicePrecision = page.getByTestId('device-precision');
    this.phase = page.getByTestId('load-phase');
    this.fileRows = page.getByTestId('file-row');
    this.cacheUsage = page.getByTestId('cache-usage');
    this.clearCache = this.card.getByRole('button', { name: 'Clear cache' });
    this.consent = page.getByTestId('pack-consent');
    this.consentHost = page.getByTestId('pack-consent-host');
    this.consentSize = page.getByTestId('pack-consent-size');
    this.consentDownload = this.consent.getByRole('button', { name: /^Download/ });
    this.consentCancel = this.consent.getByRole('button', { name: 'Cancel' });
  }

  /** Type a URL and press Enter (the keyboard path). */
  async load(url: string): Promise<void> {
    await this.urlField.fill(url);
    await this.urlField.press('Enter');
  }

  /** Agree to download the pack from another site that the card asks about. */
  async acceptDownload(): Promise<void> {
    await expect(this.consent).toBeVisible();
    await this.consentDownload.click();
    await expect(this.consent).toHaveCount(0);
  }

  async waitForStatus(status: 'ready' | 'failed' | 'loading', timeout = 180_000): Promise<void> {
    await expect(this.card).toHaveAttribute('data-status', status, { timeout });
  }

  /** The loaded files as the page lists them, with their source once done. */
  async files(): Promise<Array<{ file: string; source: string }>> {
    return this.fileRows.evaluateAll((rows) =>
      rows.map((r) => ({ file: r.getAttribute('data-file') ?? '', source: r.getAttribute('data-source') ?? '' })),
    );
  }
}
