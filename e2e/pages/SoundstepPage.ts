// Page object for the soundstep page: locators by role and label, and the few waits the
// tests share. The page exposes `window.__soundstep` (client + store) for test-only calls.

import { expect, type Locator, type Page } from '@playwright/test';

export type BackendParam = 'auto' | 'webgpu' | 'wasm';

/** The manifest summary the page keeps in its store (src/worker/protocol.ts). */
export interface PageManifest {
  id: string;
  sampleRate: number;
  numSamples: number;
  maxTokens: number;
  denoisers: { id: string; role: string; steps: number[] }[];
}

export interface PageResult {
  key: string;
  /** the pack that made it: manifest id, name and URL */
  packId: string;
  packName?: string;
  packUrl?: string;
  request: {
    prompt: string;
    denoiserId: string;
    steps: number;
    guidanceScale: number;
    seed: number;
    negativePrompt?: string;
    /** clip length in seconds when not the pack's own */
    seconds?: number;
    /** inpainting (a latent frame range) or audio-to-audio (a strength) */
    edit?: { kind: 'inpaint' | 'audio'; startFrame?: number; endFrame?: number; strength?: number };
  };
  totalMs: number;
  timings: Record<string, number>;
  networkEvaluations: number;
  timeSplit?: [string, string];
  truncated: boolean;
  tokenCount: number;
  fileName: string;
}

/** Just the shape of window.__soundstep that the tests touch. */
interface SoundstepHook {
  getState(): { manifest: PageManifest | null; results: PageResult[]; device: { backend: string; reason: string } | null };
}
type WindowWithHook = Window & { __soundstep?: SoundstepHook };

export class SoundstepPage {
  readonly prompt: Locator;
  readonly steps: Locator;
  readonly seed: Locator;
  readonly generateButton: Locator;
  readonly cancelButton: Locator;
  readonly generateReason: Locator;
  readonly progressbar: Locator;
  readonly progressText: Locator;
  readonly audio: Locator;
  readonly downloadLink: Locator;
  readonly alert: Locator;
  readonly device: Locator;
  readonly deviceBackend: Locator;
  readonly packSummary: Locator;
  readonly truncatedNote: Locator;
  /** result cards, newest first */
  readonly results: Locator;

  constructor(readonly page: Page) {
    this.prompt = page.getByLabel('Prompt', { exact: true });
    this.steps = page.getByRole('slider', { name: /^Steps/ });
    this.seed = page.getByLabel('Seed', { exact: true });
    this.generateButton = page.getByRole('button', { name: 'Generate' });
    this.cancelButton = page.getByRole('button', { name: 'Cancel' });
    this.generateReason = page.getByTestId('generate-reason');
    this.progressbar = page.getByRole('progressbar', { name: 'Generation progress' });
    this.progressText = page.getByTestId('progress-text');
    this.results = page.getByTestId('result');
    this.audio = this.results.first().getByTestId('audio');
    this.downloadLink = this.results.first().getByRole('link', { name: 'Download WAV' });
    this.alert = page.getByRole('alert');
    this.device = page.getByTestId('device');
    this.deviceBackend = page.getByTestId('device-backend');
    this.packSummary = page.getByTestId('pack-summary');
    this.truncatedNote = page.getByTestId('truncated');
  }

  async goto(params: { backend?: BackendParam; pack?: string } = {}): Promise<void> {
    const q = new URLSearchParams();
    if (params.backend) q.set('backend', params.backend);
    if (params.pack) q.set('pack', params.pack);
    const query = q.toString();
    await this.page.goto(query ? `/?${query}` : '/');
  }

  /** Wait until the pack is loaded (or fail early with the page's error). */
  async waitForReady(timeout = 120_000): Promise<void> {
    await expect(this.packSummary.or(this.alert)).toBeVisible({ timeout });
    if (await this.alert.isVisible()) throw new Error(`pack failed to load: ${await this.alert.innerText()}`);
  }

  async manifest(): Promise<PageManifest> {
    const m = await this.page.evaluate(() => (window as WindowWithHook).__soundstep?.getState().manifest ?? null);
    if (!m) throw new Error('no manifest in the page store');
    return m;
  }

  async result(): Promise<PageResult> {
    const r = await this.page.evaluate(() => (window as WindowWithHook).__soundstep?.getState().results[0] ?? null);
    if (!r) throw new Error('no result in the page store');
    return r;
  }

  /** Every result in the page store, newest first. */
  async allResults(): Promise<PageResult[]> {
    return this.page.evaluate(() => (window as WindowWithHook).__soundstep?.getState().results ?? []);
  }

  /** One click from the default (the pack's best 25-step student) to the guided teacher. */
  async chooseTeacher(): Promise<void> {
    const teacher = this.page.getByRole('radio', { name: 'Teacher' });
    await teacher.check();
    await expect(teacher).toBeChecked();
  }

  /** Move the step slider to `steps` with the keyboard (Home, then ArrowRight), as a keyboard user would. */
  async setSteps(steps: number): Promise<void> {
    await this.steps.focus();
    await this.page.keyboard.press('Home');
    const value = this.page.getByTestId('steps-value');
    for (let i = 0; i < 8 && (await value.innerText()) !== String(steps); i++) await this.page.keyboard.press('ArrowRight');
    await expect(value).toHaveText(String(steps));
  }

  /** Type a prompt, choose the step count, press Generate. */
  async startGeneration(prompt: string, steps: number, seed?: number): Promise<void> {
    await this.prompt.fill(prompt);
    await this.setSteps(steps);
    if (seed !== undefined) await this.seed.fill(String(seed));
    await expect(this.generateButton).toBeEnabled();
    await this.generateButton.click();
  }

  /** Wait for the player to have a WAV object URL. */
  async waitForAudio(timeout = 150_000): Promise<void> {
    await expect(this.audio).toHaveAttribute('src', /^blob:/, { timeout });
  }

  /** The bytes the <audio> element plays, fetched inside the page. */
  async audioBytes(): Promise<Uint8Array> {
    const b64 = await this.audio.evaluate(async (el: HTMLAudioElement) => {
      const buf = new Uint8Array(await (await fetch(el.src)).arrayBuffer());
      let s = '';
      for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
      return btoa(s);
    });
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
}
