// The comparison panel: rows 200/100/50/25 steps (and fewer where students go past 25), a column per teacher and student method,
// filling cell by cell with progress (and Cancel), each cell playing, downloading and showing
// its time and NFE, the factory's metrics beside the cells, and the blind A/B round.

import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { fillPlan, formatMetric, gridColumns, metricsFor } from '../src/compare/grid';
import type { MetricsTable } from '../src/runtime/manifest';
import type { DenoiserSummary } from '../src/domain/pack-summary';
import { FIXTURE_PACK_URL, routeFixturePack } from './ui-fixture-pack';
import { parseWav } from './wav';
import { escapeRegExp, shippedStudentsOfAnEarlierTeacher } from './shipped-pack';
import { canvasPixels, distinctColours } from './canvas';
import { logMel, type MelConfig } from '../src/engine/mel';
import { parseWav as decodeWav } from '../src/engine/wav';
import { melImage } from '../src/components/SoundPictures/draw';

const player = (page: Page) => page.getByTestId('grid-player');
const playerState = (page: Page) =>
  player(page).evaluate((el: HTMLAudioElement) => ({ src: el.src, paused: el.paused }));

async function denoisers(page: Page): Promise<DenoiserSummary[]> {
  return page.evaluate(() => {
    const s = (window as unknown as { __soundstep: { getState(): { manifest: { denoisers: DenoiserSummary[] } } } }).__soundstep;
    return s.getState().manifest.denoisers;
  });
}

const cellUrl = (page: Page, key: string) =>
  page.evaluate((k) => {
    const s = (window as unknown as { __soundstep: { getState(): { grid: Record<string, { result: { url: string } | null }> } } }).__soundstep;
    return s.getState().grid[k]?.result?.url ?? null;
  }, key);

/** The WAV bytes a filled cell plays, fetched inside the page. */
async function cellBytes(page: Page, key: string): Promise<Uint8Array> {
  const url = await cellUrl(page, key);
  if (!url) throw new Error(`cell ${key} has no sound`);
  const b64 = await page.evaluate(async (u) => {
    const buf = new Uint8Array(await (await fetch(u)).arrayBuffer());
    let s = '';
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return btoa(s);
  }, url);
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

test('shipped pack: fills every cell cheapest first with progress; cells play, download, show time and NFE; metrics from the manifest table, "—" where it has no row', async ({ app, page }) => {
  test.setTimeout(720_000); // small-next: 15 cells, 1,037 network evaluations on WASM
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const ds = await denoisers(page);
  const plan = fillPlan(ds);
  // the students an earlier teacher made (by the manifest on disk) are named under the grid
  const earlier = shippedStudentsOfAnEarlierTeacher();
  if (earlier.length === 0) await expect(page.getByTestId('earlier-teacher-note')).toHaveCount(0);
  else await expect(page.getByTestId('earlier-teacher-note')).toHaveText(new RegExp(`^${escapeRegExp(earlier.join(', '))} (was|were) distilled from an earlier teacher`));
  const headers = page.getByTestId('grid').locator('thead th');
  await expect(headers).toHaveText(['Steps', ...gridColumns(ds).map((c) => `${c.label} ${c.role}`)]);
  // a row per step count some denoiser offers: the paper's 200/100/50/25, then bsa's and snr+1's 5 and 1 past it
  const rows = [...new Set(ds.flatMap((d) => d.steps))].sort((x, y) => y - x);
  expect(rows.slice(0, 4)).toEqual([200, 100, 50, 25]);
  await expect(page.getByTestId('grid').locator('tbody th')).toHaveText(rows.map(String));
  const metrics = await page.evaluate(
    () => (window as unknown as { __soundstep: { getState(): { manifest: { metrics: MetricsTable | null } } } }).__soundstep.getState().manifest.metrics,
  );
  if (metrics === null) {
    await expect(page.getByTestId('metrics-note')).toContainText('Metrics: —');
    for (const c of plan) await expect(page.getByTestId(`cell-${c.key}`).getByTestId('cell-figure')).toHaveText('FAD —');
    await expect(page.getByTestId('metrics-chart')).toHaveCount(0);
  } else {
    // the factory's table: each cell shows one figure, its row's audio FAD, or "—"
    // (the chart and the full table: metrics-chart.spec.ts)
    await expect(page.getByTestId('metrics-note')).toContainText(metrics.judge);
    for (const c of plan) {
      const row = metricsFor(metrics, c.denoiserId, c.steps);
      await expect(page.getByTestId(`cell-${c.key}`).getByTestId('cell-figure')).toHaveText(`FAD ${formatMetric(row?.fad_judge)}`);
    }
  }

  await app.prompt.fill('a bird sings');
  await app.seed.fill('3');
  await page.getByRole('button', { name: 'Fill the grid' }).click();
  const progress = page.getByTestId('grid-progress-text');
  await expect(progress).toHaveText(new RegExp(`^cell 1 of ${plan.length}: ${escapeRegExp(plan[0]!.label)} · `));
  await expect(page.getByTestId(`cell-${plan[0]!.key}`)).toHaveAttribute('data-status', 'running');
  await expect(page.getByTestId(`cell-${plan.at(-1)!.key}`)).toHaveAttribute('data-status', 'queued');
  // the fill moves on, naming each cell (a 1-step cell can finish between two polls: a later one counts)
  const cellNumber = async (): Promise<number> => {
    const text = (await progress.textContent()) ?? '';
    return plan.findIndex((c, i) => text.startsWith(`cell ${i + 1} of ${plan.length}: ${c.label} · `)) + 1;
  };
  await expect.poll(cellNumber, { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  for (const c of plan) {
    const cell = page.getByTestId(`cell-${c.key}`);
    await expect(cell).toHaveAttribute('data-status', 'done', { timeout: 300_000 });
    await expect(cell.getByTestId('cell-cost')).toHaveText(new RegExp(`^\\d+\\.\\d+ s · ${c.nfe} NFE$`));
  }
  await expect(page.getByTestId('grid-progress')).toBeHidden();
  await expect(page.getByTestId('grid-for')).toHaveText(/^Grid for “a bird sings” · seed 3 · teacher guidance \d/);
  expect(await app.allResults()).toEqual([]); // grid cells are not results

  // play with the mouse, stop, then play another with the keyboard
  const first = plan[0]!;
  const play1 = page.getByRole('button', { name: `Play ${first.label.replace(' · ', ', ')}` });
  await play1.click();
  await expect(page.getByRole('button', { name: `Stop ${first.label.replace(' · ', ', ')}` })).toHaveAttribute('aria-pressed', 'true');
  expect((await playerState(page)).src).toBe(await cellUrl(page, first.key));
  await expect.poll(async () => (await playerState(page)).paused).toBe(false);
  await page.getByRole('button', { name: `Stop ${first.label.replace(' · ', ', ')}` }).click();
  await expect.poll(async () => (await playerState(page)).paused).toBe(true);
  const second = plan[1]!;
  await page.getByRole('button', { name: `Play ${second.label.replace(' · ', ', ')}` }).focus();
  await page.keyboard.press('Enter');
  await expect.poll(async () => (await playerState(page)).src).toBe(await cellUrl(page, second.key));
  await expect.poll(async () => (await playerState(page)).paused).toBe(false);

  // download the most expensive cell
  const last = plan.at(-1)!;
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: `Download ${last.label.replace(' · ', ', ')}` }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`a-bird-sings_${last.denoiserId}_${last.steps}-steps_seed-3.wav`);
  const wav = parseWav(new Uint8Array(await readFile(await download.path())));
  expect(wav.numSamples).toBe((await app.manifest()).numSamples);
});

test('UI fixture pack: a column per method, "not distilled" cells, metrics beside cells, cancel mid-fill, blind A/B with reveal and tally', async ({ app, page }) => {
  test.setTimeout(300_000);
  await routeFixturePack(page.context());
  await app.goto({ backend: 'wasm', pack: FIXTURE_PACK_URL });
  await app.waitForReady();
  const grid = page.getByTestId('grid');
  await expect(grid.locator('thead th')).toHaveText(['Steps', 'teacher teacher', 'bsa student', 'eps student']);
  await expect(grid.locator('[data-status="not-distilled"]')).toHaveCount(5); // bsa: 200, 100; eps: 200, 100, 50
  await expect(page.getByTestId('cell-bsa@100')).toHaveText('not distilled');

  // one figure of the factory's table in each cell (audio FAD), "—" where the table has no row
  const figureOf = (key: string) => page.getByTestId(`cell-${key}`).getByTestId('cell-figure');
  await expect(figureOf('teacher@200')).toHaveText('FAD 1.23 ± 0.05');
  await expect(figureOf('eps-25@25')).toHaveText('FAD 250.00');
  await expect(figureOf('teacher@25')).toHaveText('FAD —');
  // every figure one click away: log-mel (before the vocoder) then audio, "—" where a row lacks one
  await page.getByText("Every figure of the factory's table").click();
  const figures = page.getByTestId('figures-table');
  await expect(figures.locator('tbody th')).toHaveText(['teacher · 200 steps', 'teacher · 100 steps', 'teacher · 50 steps', 'teacher · 25 steps', 'bsa · 50 steps', 'bsa · 25 steps', 'eps · 25 steps']);
  const rowOf = (key: string) => figures.getByTestId(`figures-${key}`).locator('td');
  await expect(rowOf('teacher@200')).toHaveText(['60.50 ± 2.25', '7.25 ± 0.50', '71% ± 3%', '1.23 ± 0.05', '3.50 ± 0.25', '62% ± 4%']);
  await expect(rowOf('eps-25@25')).toHaveText(['400.00', '22.50', '30%', '250.00', '30.00', '5%']);
  await expect(rowOf('bsa-25@25')).toHaveText(['—', '—', '—', '2.50', '4.75', '50%']);
  await expect(rowOf('teacher@25')).toHaveText(['—', '—', '—', '—', '—', '—']);
  // the groups say what they were measured on, in words and in a tooltip
  const groups = figures.locator('thead th[scope="colgroup"]');
  await expect(groups).toHaveText(['log-mel', 'audio']);
  await expect(groups.first()).toHaveAttribute('title', /VAE decoder’s log-mel, before the vocoder/);
  await expect(groups.last()).toHaveAttribute('title', /final audio, after the vocoder/);
  await expect(page.getByTestId('metrics-note')).toContainText('UI fixture judge (made-up numbers), mean ± 95% interval over 5 runs');
  await expect(page.getByTestId('metrics-note')).toContainText('“log-mel”: measured on the VAE decoder’s log-mel before the vocoder');

  // fill: cheapest first (students at 25, then teacher 25 and bsa 50, ...), cancel during the 4th cell
  await expect(page.getByTestId('ab-empty')).toBeVisible();
  await app.prompt.fill('a trumpet plays');
  await app.seed.fill('11');
  await page.getByRole('button', { name: 'Fill the grid' }).click();
  const progress = page.getByTestId('grid-progress-text');
  await expect(progress).toHaveText(/^cell 1 of 7: bsa · 25 steps · /);
  await expect(page.getByRole('progressbar', { name: 'Grid progress' })).toBeVisible();
  await expect(progress).toHaveText(/^cell 4 of 7: bsa · 50 steps · /, { timeout: 120_000 });
  for (const k of ['bsa-25@25', 'eps-25@25', 'teacher@25']) await expect(page.getByTestId(`cell-${k}`)).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('cell-bsa-25@25').getByTestId('cell-cost')).toHaveText(/ · 25 NFE$/);
  await expect(page.getByTestId('cell-teacher@25').getByTestId('cell-cost')).toHaveText(/ · 50 NFE$/);
  await page.getByRole('button', { name: 'Cancel filling' }).click();
  await expect(page.getByTestId('grid-progress')).toBeHidden();
  // The 4th cell (50 NFE) can finish between the checks above and the click: the fill then stops
  // in the 5th. Either way it stops after 3 or 4 cells, in fill order, and nothing is left running.
  const fillOrder = ['bsa-25@25', 'eps-25@25', 'teacher@25', 'bsa-50@50', 'teacher@50', 'teacher@100', 'teacher@200'];
  const done = await grid.locator('[data-status="done"]').count();
  expect([3, 4]).toContain(done);
  for (const [i, k] of fillOrder.entries()) {
    await expect(page.getByTestId(`cell-${k}`)).toHaveAttribute('data-status', i < done ? 'done' : 'empty');
  }
  await expect(app.generateButton).toBeEnabled();

  // each filled cell shows a small spectrogram of its own sound: the pixels are exactly the log-mel
  // image (src/engine/mel.ts with the pack's settings) of the WAV the cell plays
  const mel = await page.evaluate(
    () => (window as unknown as { __soundstep: { getState(): { manifest: { mel: MelConfig } } } }).__soundstep.getState().manifest.mel,
  );
  for (const k of ['bsa-25@25', 'teacher@25']) {
    const cell = page.getByTestId(`cell-${k}`);
    await expect(cell.locator('.pictures')).toHaveAttribute('data-state', 'drawn');
    const shown = await canvasPixels(cell.getByTestId('cell-spectrogram'));
    const expected = melImage(logMel(decodeWav(await cellBytes(page, k)).samples, mel)); // as the page decodes it
    expect([shown.width, shown.height]).toEqual([256, 64]); // frames x mels
    expect(distinctColours(shown)).toBeGreaterThan(50);
    expect(shown.data).toEqual(Array.from(expected));
  }
  await expect(page.getByTestId('cell-teacher@200').getByTestId('cell-spectrogram')).toHaveCount(0); // not filled: no picture

  // blind A/B by keyboard: the chosen pair plays as A and B; the reveal names what A really was
  await page.getByLabel('First cell').selectOption({ label: 'bsa · 25 steps' });
  await page.getByLabel('Second cell').selectOption({ label: 'teacher · 25 steps' });
  await page.getByRole('button', { name: 'Start blind round' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: '▶ Play A' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: '■ Stop A' })).toHaveAttribute('aria-pressed', 'true');
  const urlA = (await playerState(page)).src;
  await page.getByRole('button', { name: '▶ Play B' }).click();
  const urlB = (await playerState(page)).src;
  expect(urlB).not.toBe(urlA);
  await expect(page.getByTestId('ab-reveal')).toHaveCount(0); // nothing revealed before the pick
  await page.getByRole('button', { name: 'I prefer A' }).click();
  const reveal = page.getByTestId('ab-reveal');
  await expect(reveal).toBeVisible();
  const labelA = await reveal.getByTestId('ab-a').innerText();
  const labelB = await reveal.getByTestId('ab-b').innerText();
  expect([labelA, labelB].sort()).toEqual(['bsa · 25 steps', 'teacher · 25 steps']);
  const keyOf = { 'bsa · 25 steps': 'bsa-25@25', 'teacher · 25 steps': 'teacher@25' } as Record<string, string>;
  expect(urlA).toBe(await cellUrl(page, keyOf[labelA]!)); // what played as A is what the reveal calls A
  expect(urlB).toBe(await cellUrl(page, keyOf[labelB]!));
  await expect(reveal).toContainText(`You preferred A (${labelA})`);
  const tally = page.getByTestId('ab-tally');
  await expect(tally.locator('caption')).toHaveText('This visit: 1 round, 0 can’t tell');
  await expect(tally.getByTestId(`tally-${keyOf[labelA]}`).locator('td')).toHaveText(['1', '1']);
  await expect(tally.getByTestId(`tally-${keyOf[labelB]}`).locator('td')).toHaveText(['0', '1']);

  // a second round on a random pair, answered "can't tell"
  await page.getByRole('button', { name: 'Next round' }).click();
  await page.getByRole('button', { name: 'Random pair' }).click();
  await page.getByRole('button', { name: 'Can’t tell' }).click();
  await expect(page.getByTestId('ab-reveal')).toContainText('You could not tell them apart');
  await expect(tally.locator('caption')).toHaveText('This visit: 2 rounds, 1 can’t tell');
});

test('UI fixture pack, a table without log-mel figures (an older factory): the table shows the audio figures alone, the chart offers them alone', async ({ app, page }) => {
  await routeFixturePack(page.context(), { logMel: false });
  await app.goto({ backend: 'wasm', pack: FIXTURE_PACK_URL });
  await app.waitForReady();
  await expect(page.getByTestId('grid').getByTestId('cell-figure')).toHaveCount(7); // every distilled cell
  await expect(page.getByTestId('cell-teacher@200').getByTestId('cell-figure')).toHaveText('FAD 1.23 ± 0.05');
  await expect(page.getByTestId('metrics-chart').getByRole('option')).toHaveText(['FAD (judge), audio', 'FD_mel, audio', 'adherence, audio']);
  await page.getByText("Every figure of the factory's table").click();
  const figures = page.getByTestId('figures-table');
  await expect(figures.locator('thead th[scope="colgroup"]')).toHaveText(['audio']);
  await expect(figures.getByTestId('figures-teacher@200').locator('td')).toHaveText(['1.23 ± 0.05', '3.50 ± 0.25', '62% ± 4%']);
  await expect(figures.getByTestId('figures-eps-25@25').locator('td')).toHaveText(['250.00', '30.00', '5%']);
  await expect(figures.getByTestId('figures-teacher@25').locator('td')).toHaveText(['—', '—', '—']);
  await expect(page.getByTestId('metrics-note')).toContainText('UI fixture judge (made-up numbers)');
  await expect(page.getByTestId('metrics-note')).not.toContainText('log-mel');
});
