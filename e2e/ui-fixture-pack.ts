// UI FIXTURE: the shipped pack cut down to a fixed set of columns (teacher, bsa at 25 and 50,
// eps at 25) with made-up metrics, so the UI tests see the same grid whatever students the
// shipped pack carries. A listed student the shipped pack has keeps its real graph; one it
// lacks points at the teacher graph (guidance folded, 1 evaluation per step), a stand-in whose
// sounds no test asserts on. A kept student whose parent is cut names the teacher instead.
//
// Served at /e2e-packs/ui-students/ by request interception on the browser context (which also
// sees the worker's fetches): manifest.json is rewritten, every other file is the shipped one.

import type { BrowserContext } from '@playwright/test';

export const FIXTURE_PACK_URL = '/e2e-packs/ui-students/';
const REAL_PACK = '/models/soundstep-small/';

/** Students added by the fixture: [id, method, N]. */
export const FIXTURE_STUDENTS: ReadonlyArray<readonly [string, string, number]> = [
  ['bsa-25', 'bsa', 25],
  ['bsa-50', 'bsa', 50],
  ['eps-25', 'eps', 25],
];

/**
 * Metrics rows the fixture adds (other cells have none and must show "—"). teacher@200 and
 * eps-25@25 also have log-mel figures; bsa-25@25 has the audio ones only, as a row of a table
 * scored before the log-mel figures existed would.
 */
export const FIXTURE_METRICS = {
  judge: 'UI fixture judge (made-up numbers)',
  runs: 5,
  rows: [
    {
      denoiser: 'teacher', steps: 200, nfe: 400, fad_judge: { mean: 1.234, ci95: 0.05 }, fd_mel: { mean: 3.5, ci95: 0.25 }, adherence: { mean: 0.62, ci95: 0.04 },
      log_mel: { fad_judge: { mean: 60.5, ci95: 2.25 }, fd_mel: { mean: 7.25, ci95: 0.5 }, adherence: { mean: 0.71, ci95: 0.03 } },
    },
    { denoiser: 'bsa-25', steps: 25, nfe: 25, fad_judge: { mean: 2.5, ci95: null }, fd_mel: { mean: 4.75, ci95: null }, adherence: { mean: 0.5, ci95: null } },
    {
      denoiser: 'eps-25', steps: 25, nfe: 25, fad_judge: { mean: 250, ci95: null }, fd_mel: { mean: 30, ci95: null }, adherence: { mean: 0.05, ci95: null },
      log_mel: { fad_judge: { mean: 400, ci95: null }, fd_mel: { mean: 22.5, ci95: null }, adherence: { mean: 0.3, ci95: null } },
    },
  ],
};

interface ManifestJson {
  denoisers: Array<Record<string, unknown>>;
  metrics?: unknown;
  default_denoiser?: string;
}

/** FIXTURE_METRICS without the log-mel figures: a table as an older factory wrote it. */
function withoutLogMel(table: typeof FIXTURE_METRICS): object {
  return { ...table, rows: table.rows.map(({ log_mel: _logMel, ...row }: { log_mel?: unknown }) => row) };
}

/**
 * Serve the UI fixture pack in this context; `metrics: false` leaves the table out,
 * `logMel: false` keeps it but drops every row's log-mel figures.
 */
export async function routeFixturePack(context: BrowserContext, opts: { metrics?: boolean; logMel?: boolean } = {}): Promise<void> {
  await context.route(`**${FIXTURE_PACK_URL}**`, async (route) => {
    const url = new URL(route.request().url());
    const file = url.pathname.slice(url.pathname.indexOf(FIXTURE_PACK_URL) + FIXTURE_PACK_URL.length);
    const real = new URL(REAL_PACK + file, url.origin).href;
    const response = await route.fetch({ url: real });
    if (file !== 'manifest.json') {
      await route.fulfill({ response });
      return;
    }
    const manifest = (await response.json()) as ManifestJson;
    const teacher = manifest.denoisers.find((d) => d['role'] === 'teacher');
    if (!teacher) throw new Error('the shipped pack has no teacher');
    const kept: Array<Record<string, unknown>> = [teacher];
    for (const [id, method, n] of FIXTURE_STUDENTS) {
      const real = manifest.denoisers.find((d) => d['id'] === id);
      kept.push(real ?? { id, file: teacher['file'], role: 'student', method, steps: [n], guidance: { type: 'folded' } });
    }
    const ids = new Set(kept.map((d) => d['id']));
    for (const d of kept.slice(1)) if (!ids.has(d['distilled_from'])) d['distilled_from'] = teacher['id'];
    manifest.denoisers = kept;
    // the shipped manifest may name its own best student (default_denoiser); the fixture keeps
    // other students, so the page picks among them by the fixture's table
    if (!ids.has(manifest.default_denoiser)) delete manifest.default_denoiser;
    manifest.metrics = opts.metrics === false ? null : opts.logMel === false ? withoutLogMel(FIXTURE_METRICS) : FIXTURE_METRICS;
    await route.fulfill({ response, json: manifest });
  });
}
