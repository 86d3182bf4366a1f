// Denoisers on demand: the first load downloads one denoiser (the pack's default student) and at
// most 30 MB of graphs; the model picker says what the others will download; choosing the
// teacher and generating downloads denoisers/teacher.onnx once, shown as the generation's
// progress; a cancelled or failed download loses nothing and a later generation fetches it again.
// The worker's requests are recorded on the browser context (it sees the worker's fetches).

import type { BrowserContext, Request } from '@playwright/test';
import { test, expect } from './fixtures';
import { DEFAULT_STUDENT_FILE, DEFAULT_STUDENT_WASM_FILE, SHIPPED_PATH, TEACHER_FILE as TEACHER, shippedManifest as manifest, escapeRegExp, shippedSize } from './shipped-pack';

/** the project's rule for a pack's first download: text encoder, default student, VAE decoder, vocoder */
const FIRST_LOAD_LIMIT = 30e6;
const teacherSize = shippedSize([TEACHER]);
/** what filling the comparison grid downloads: every denoiser (each has a cell) but the default student (loaded up front) */
const othersSize = shippedSize(manifest.denoisers.filter((d) => d.file !== DEFAULT_STUDENT_FILE).map((d) => d.file));

/** The pack files the page fetches, in order (pack-relative paths; repeats kept). */
function recordPackFetches(context: BrowserContext): string[] {
  const fetched: string[] = [];
  context.on('request', (r: Request) => {
    const path = new URL(r.url()).pathname.split(SHIPPED_PATH)[1];
    if (path) fetched.push(decodeURIComponent(path));
  });
  return fetched;
}

const onnx = (fetched: string[]): string[] => fetched.filter((f) => f.endsWith('.onnx'));
const count = (fetched: string[], file: string): number => fetched.filter((f) => f === file).length;

/** The teacher's file held back until `open` is called, so the download is seen in progress (or cancelled). */
async function holdTeacher(context: BrowserContext): Promise<{ open: () => void }> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  await context.route(`**${SHIPPED_PATH}${TEACHER}`, async (route) => {
    await gate;
    // the page may have given up on it (Cancel): then there is nothing to answer
    await route.continue().catch(() => undefined);
  });
  return { open };
}

test('the first load fetches one denoiser; the teacher downloads once on first use, with its size shown before', async ({ app, page }, testInfo) => {
  const fetched = recordPackFetches(page.context());
  const teacher = await holdTeacher(page.context());
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();

  const first = onnx(fetched);
  expect(first.filter((f) => f.startsWith('denoisers/'))).toEqual([DEFAULT_STUDENT_WASM_FILE]);
  // the header says which weights run and why (src/runtime/graphs.ts selectPrecision)
  const int8 = DEFAULT_STUDENT_WASM_FILE !== DEFAULT_STUDENT_FILE;
  await expect(page.getByTestId('device-precision')).toHaveAttribute('data-dtype', int8 ? 'int8' : 'float32');
  await expect(page.getByTestId('device-precision')).toContainText(int8 ? 'int8 arithmetic for 1 of' : 'float32 weights');
  const bytes = first.reduce((n, f) => n + (manifest.files[f]?.bytes ?? 0), 0);
  const figure = `first load: ${first.length} .onnx files, ${(bytes / 1e6).toFixed(2)} MB (${first.join(', ')})`;
  console.log(figure);
  testInfo.annotations.push({ type: 'first load', description: figure });
  expect(bytes).toBeLessThanOrEqual(FIRST_LOAD_LIMIT);

  // the picker says what the teacher will download before it is chosen for a generation
  await expect(page.getByTestId('models-not-downloaded')).toContainText(`teacher (${teacherSize})`);
  // and the comparison grid what filling it would download
  await expect(page.getByTestId('grid-download')).toContainText(`(${othersSize})`);
  await app.chooseTeacher();
  await expect(page.getByTestId('model-download')).toHaveText(`teacher is not downloaded yet: it downloads ${teacherSize} on first use.`);

  await app.startGeneration('a dog barks while rain falls on a roof', 25, 7);
  await expect(app.progressText).toHaveText(new RegExp(`^downloading ${escapeRegExp(TEACHER)} \\d+\\.\\d of ${escapeRegExp(teacherSize)}$`));
  teacher.open();
  await app.waitForAudio();
  expect((await app.result()).networkEvaluations).toBe(50);
  await expect(page.getByTestId('model-download')).toBeHidden();
  await expect(page.getByTestId('models-not-downloaded')).not.toContainText('teacher');

  // a second sound with the teacher downloads nothing more
  const before = (await app.allResults()).length;
  await app.generateButton.click();
  await expect.poll(async () => (await app.allResults()).length, { timeout: 150_000 }).toBe(before + 1);
  expect(count(fetched, TEACHER)).toBe(1);
});

test('Cancel during the download stops it; the next generation downloads it again and makes audio', async ({ app, page }) => {
  const fetched = recordPackFetches(page.context());
  const teacher = await holdTeacher(page.context());
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  await app.chooseTeacher();
  await app.startGeneration('a helicopter passes overhead', 25, 3);
  await expect(app.progressText).toHaveText(new RegExp(`^downloading ${escapeRegExp(TEACHER)}`));
  await app.cancelButton.click();
  await expect(app.progressbar).toBeHidden();
  await expect(page.getByTestId('model-download')).toBeVisible(); // still not downloaded
  teacher.open();

  await app.generateButton.click();
  await app.waitForAudio();
  expect(count(fetched, TEACHER)).toBe(2);
  await expect(page.getByTestId('model-download')).toBeHidden();
});

test('a failed download names the file and what to do; results stay, the student still works, Retry makes it', async ({ app, page }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  await app.startGeneration('a cat meows', 25, 1); // the default student, loaded up front
  await app.waitForAudio();

  await page.context().route(`**${SHIPPED_PATH}${TEACHER}`, (route) => route.abort('internetdisconnected'));
  await app.chooseTeacher();
  await app.generateButton.click();
  await expect(app.alert).toBeVisible();
  await expect(app.alert.getByTestId('error-file')).toHaveText(TEACHER);
  await expect(app.alert).toContainText('It is downloaded on first use; nothing else was lost');
  await expect(app.alert).toContainText('Check your connection and generate again to retry');
  expect(await app.allResults()).toHaveLength(1);

  await page.context().unrouteAll({ behavior: 'ignoreErrors' });
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await expect.poll(async () => (await app.allResults()).length, { timeout: 150_000 }).toBe(2);
  expect((await app.result()).request.denoiserId).toBe('teacher');
});
