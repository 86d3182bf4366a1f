// The factory's metrics in the comparison panel, on the shipped pack: the chart (score against
// steps per method, with 95% intervals, like the paper's Figure 2) plots exactly the values of the
// pack's metrics.json; each grid cell shows one compact figure; every figure is one click away.
// Expected values come from the pack's files on disk, not from the page's own code.

import { readFile } from 'node:fs/promises';
import type { Locator } from '@playwright/test';
import { test, expect } from './fixtures';
import { SHIPPED_DIR as PACK } from './shipped-pack';

interface Value {
  mean: number;
  ci95: number | null;
}
interface Row {
  denoiser: string;
  steps: number;
  fad_judge: Value;
  log_mel?: { adherence: Value };
}
interface Denoiser {
  id: string;
  role: 'teacher' | 'student';
  method?: string;
  steps: number[];
}
interface Plotted {
  label: string;
  points: { steps: number; mean: number; low: number; high: number }[];
}

async function packFiles(): Promise<{ table: Row[]; denoisers: Denoiser[] }> {
  // Python's json writes NaN where a figure could not be computed (outside the table's rows)
  const metrics = JSON.parse((await readFile(`${PACK}metrics.json`, 'utf8')).replace(/\bNaN\b/g, 'null')) as { table: Row[] };
  const manifest = JSON.parse(await readFile(`${PACK}manifest.json`, 'utf8')) as { denoisers: Denoiser[] };
  return { table: metrics.table, denoisers: manifest.denoisers };
}

/** What the chart should plot: metrics.json's rows of the pack's own denoisers at the steps they offer and the grid has, by method. */
function expectedSeries(table: Row[], denoisers: Denoiser[], pick: (r: Row) => Value | undefined): Map<string, Plotted['points']> {
  const series = new Map<string, Plotted['points']>();
  for (const row of table) {
    const d = denoisers.find((x) => x.id === row.denoiser);
    const v = pick(row);
    if (!d || !v || !d.steps.includes(row.steps)) continue; // a row at steps the pack's denoiser does not offer is not drawn
    const label = d.role === 'teacher' ? 'teacher' : (d.method ?? d.id);
    const half = v.ci95 ?? 0;
    series.set(label, [...(series.get(label) ?? []), { steps: row.steps, mean: v.mean, low: v.mean - half, high: v.mean + half }]);
  }
  for (const points of series.values()) points.sort((a, b) => a.steps - b.steps);
  return series;
}

async function plotted(chart: Locator): Promise<Plotted[]> {
  const holder = chart.getByTestId('metrics-chart-canvas');
  await expect(holder).toHaveAttribute('data-plotted', /\[/);
  return JSON.parse((await holder.getAttribute('data-plotted'))!) as Plotted[];
}

function expectSame(got: Plotted[], want: Map<string, Plotted['points']>) {
  expect(got.map((s) => s.label).sort()).toEqual([...want.keys()].sort());
  for (const s of got) {
    const w = want.get(s.label)!;
    expect(s.points, s.label).toHaveLength(w.length);
    s.points.forEach((p, i) => {
      // read back from the drawn pixels through the chart's scales: equal to float rounding
      expect(p.steps, `${s.label} point ${i} steps`).toBeCloseTo(w[i]!.steps, 6);
      expect(p.mean, `${s.label}@${p.steps} mean`).toBeCloseTo(w[i]!.mean, 6);
      expect(p.low, `${s.label}@${p.steps} low`).toBeCloseTo(w[i]!.low, 6);
      expect(p.high, `${s.label}@${p.steps} high`).toBeCloseTo(w[i]!.high, 6);
    });
  }
}

test('shipped pack: the chart plots metrics.json (audio FAD, then log-mel adherence), one figure per cell, the full table behind a disclosure', async ({ app, page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const { table, denoisers } = await packFiles();
  const chart = page.getByTestId('metrics-chart');

  // the default: FAD (judge) on the audio, what the paper's Figure 2 plots, with its interval
  await expect(chart).toHaveAttribute('data-metric', 'audio.fad_judge');
  const fad = expectedSeries(table, denoisers, (r) => r.fad_judge);
  expect(fad.get('teacher')!.map((p) => p.steps)).toEqual([25, 50, 100, 200]); // a line across the steps
  const bsaSteps = fad.get('bsa')!.map((p) => p.steps);
  expect(bsaSteps).toEqual([1, 5, 25, 50, 100]); // the paper's three rounds, then two past it (25 -> 5 -> 1)
  expectSame(await plotted(chart), fad);
  await expect(chart.getByRole('img')).toHaveAttribute('aria-label', new RegExp(`teacher: 4 points; bsa: ${bsaSteps.length} points`));
  // every step count on the x axis is labelled (the log scale's default formatter dropped 25)
  const allSteps = [...new Set([...fad.values()].flatMap((points) => points.map((p) => p.steps)))].sort((a, b) => a - b);
  await expect(chart.getByTestId('metrics-chart-canvas')).toHaveAttribute('data-x-ticks', allSteps.join(' '));

  // one compact figure per filled-or-fillable cell: the same metric, mean ± interval from metrics.json
  for (const d of denoisers) {
    for (const n of d.steps) {
      const row = table.find((r) => r.denoiser === d.id && r.steps === n);
      const cell = page.getByTestId(`cell-${d.id}@${n}`);
      const want = row ? `FAD ${row.fad_judge.mean.toFixed(2)} ± ${row.fad_judge.ci95!.toFixed(2)}` : 'FAD —';
      await expect(cell.getByTestId('cell-figure')).toHaveText(want);
    }
  }
  await expect(page.getByTestId('grid').locator('dd')).toHaveCount(0); // no wall of numbers

  // another metric: the chart and the cells follow; percentages on the axis, fractions read back
  await chart.getByRole('combobox').selectOption({ label: 'adherence, log-mel' });
  await expect(chart).toHaveAttribute('data-metric', 'log_mel.adherence');
  expectSame(await plotted(chart), expectedSeries(table, denoisers, (r) => r.log_mel?.adherence));
  const teacher200 = table.find((r) => r.denoiser === 'teacher' && r.steps === 200)!.log_mel!.adherence;
  await expect(page.getByTestId('cell-teacher@200').getByTestId('cell-figure')).toHaveText(
    `adh. ${Math.round(teacher200.mean * 100)}% ± ${Math.round(teacher200.ci95! * 100)}%`,
  );

  // the full table: closed at first, opened and closed again from the keyboard
  const disclosure = page.getByTestId('figures-disclosure');
  const figures = page.getByTestId('figures-table');
  await expect(figures).toBeHidden();
  await disclosure.locator('summary').focus();
  await page.keyboard.press('Enter');
  await expect(figures).toBeVisible();
  await expect(disclosure).toHaveAttribute('open', '');
  const shipped = denoisers.flatMap((d) => d.steps.map((n) => `${d.id}@${n}`));
  await expect(figures.locator('tbody tr')).toHaveCount(shipped.length);
  const t200 = table.find((r) => r.denoiser === 'teacher' && r.steps === 200)!;
  // log-mel FAD, FD_mel, adh., then audio FAD: the row's first cells, formatted from metrics.json
  await expect(figures.getByTestId('figures-teacher@200').locator('td').nth(3)).toHaveText(
    `${t200.fad_judge.mean.toFixed(2)} ± ${t200.fad_judge.ci95!.toFixed(2)}`,
  );
  await expect(figures.locator('thead th[scope="colgroup"]')).toHaveText(['log-mel', 'audio', 'ears (free-form)']);
  await page.keyboard.press('Enter');
  await expect(figures).toBeHidden();

  // the factory measured the float32 graphs: a device that runs a variant of one says so under the grid
  const precision = page.getByTestId('device-precision');
  await expect(precision).toHaveAttribute('data-dtype', /^(float32|float16|int8)$/);
  const dtype = await precision.getAttribute('data-dtype');
  const note = page.getByTestId('figures-precision');
  if (dtype === 'float32') await expect(note).toHaveCount(0);
  else await expect(note).toContainText(`measured these figures on the float32 graphs. This device runs ${dtype}`);
});
