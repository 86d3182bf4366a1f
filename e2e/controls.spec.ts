// Generating: the step slider and its NFE cost before and after, guidance, Ctrl/Cmd+Enter,
// the seed (random by default, fixed, copied), and the teacher/student switch.

import { test, expect } from './fixtures';
import { FIXTURE_PACK_URL, routeFixturePack } from './ui-fixture-pack';
import { DEFAULT_STUDENT, DEFAULT_STUDENT_METHOD } from './shipped-pack';
import { fmtSeconds } from '../src/components/Result/format';
import { defaultChoice } from '../src/domain/default-denoiser';
import type { DenoiserSummary } from '../src/domain/pack-summary';
import type { MetricsTable } from '../src/runtime/pack-types';

test('starts on the best 25-step student; the teacher is one click away; step slider by keyboard shows the NFE cost before; Ctrl+Enter generates and the measured NFE matches', async ({ app, page }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const manifest = await app.manifest();
  const perSound = page.getByTestId('nfe-per-sound');
  const stepsValue = page.getByTestId('steps-value');

  // the default: the pack's best 25-step student (the manifest's metrics table: lowest audio FAD_judge)
  const summary = await page.evaluate(
    () => (window as unknown as { __soundstep: { getState(): { manifest: { metrics: MetricsTable | null; denoisers: DenoiserSummary[] } } } }).__soundstep.getState().manifest,
  );
  const expected = defaultChoice(summary.denoisers, summary.metrics);
  expect(expected?.denoiserId).toBe(DEFAULT_STUDENT); // the factory wrote the same rule's answer into the manifest
  await expect(page.getByRole('radio', { name: 'Student' })).toBeChecked();
  await expect(page.getByTestId('student-id')).toHaveText(`${DEFAULT_STUDENT} (${DEFAULT_STUDENT_METHOD}, distilled for 25 steps)`);
  await expect(stepsValue).toHaveText('25');
  await expect(perSound).toHaveText('25'); // guidance folded: 1 per step
  expect(await page.evaluate(() => (window as unknown as { __soundstep: { getState(): { denoiserId: string } } }).__soundstep.getState().denoiserId)).toBe(DEFAULT_STUDENT);
  // one click to the teacher, at the same 25 steps, its cost shown
  await app.chooseTeacher();
  await expect(stepsValue).toHaveText('25');
  await expect(perSound).toHaveText('50');

  // the slider: fewest steps at Home, most at End, one stop per arrow key
  await app.steps.focus();
  await page.keyboard.press('Home');
  await expect(stepsValue).toHaveText('25');
  await expect(app.steps).toHaveAttribute('aria-valuetext', '25 steps');
  await expect(perSound).toHaveText('50'); // teacher with guidance: 2 per step
  await page.keyboard.press('ArrowRight');
  await expect(stepsValue).toHaveText('50');
  await expect(perSound).toHaveText('100');
  await page.keyboard.press('End');
  await expect(stepsValue).toHaveText('200');
  await expect(perSound).toHaveText('400');
  await expect(page.getByTestId('nfe-estimate')).toContainText('200 steps × 2 evaluations');

  // the variations multiply the total
  await page.getByLabel('Variations').selectOption('3');
  await expect(page.getByTestId('nfe-total')).toHaveText('1200');
  await page.getByLabel('Variations').selectOption('1');
  await expect(page.getByTestId('nfe-total')).toHaveCount(0);

  // guidance for the teacher, by keyboard: 3 -> 4 in steps of 0.5
  const guidance = page.getByRole('slider', { name: /^Guidance scale/ });
  await expect(page.getByTestId('guidance-value')).toHaveText('3');
  await guidance.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('guidance-value')).toHaveText('4');

  // the real pack's student side is offered only when it has students
  const hasStudents = manifest.denoisers.some((d) => d.role === 'student');
  await expect(page.getByRole('radio', { name: 'Student' })).toBeEnabled({ enabled: hasStudents });
  if (!hasStudents) await expect(page.getByText('This pack has no distilled students yet.')).toBeVisible();

  await app.setSteps(25);
  await app.prompt.fill('a dog barks');
  await app.prompt.press('Control+Enter');
  await expect(app.progressbar).toBeVisible();
  await app.waitForAudio();
  const r = await app.result();
  expect(r.request).toMatchObject({ prompt: 'a dog barks', denoiserId: 'teacher', steps: 25, guidanceScale: 4 });
  expect(r.networkEvaluations).toBe(50); // what the estimate said
  const cost = app.results.first().getByTestId('result-cost');
  await expect(cost).toHaveText(`Took ${fmtSeconds(r.totalMs)} · 50 network evaluations`);
  await expect(app.results.first().getByTestId('result-meta')).toContainText('teacher · 25 steps');
  await expect(app.results.first().getByTestId('result-meta')).toContainText('guidance 4');

  // Cmd+Enter (macOS) generates too
  await app.prompt.fill('a cat meows');
  await app.prompt.press('Meta+Enter');
  await expect(app.results).toHaveCount(2);
  expect((await app.result()).request.prompt).toBe('a cat meows');
});

test('seed: random per Generate by default, fixed when asked, typed seeds are kept, copied by the API and by the fallback', async ({ app, page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const fixed = page.getByRole('switch', { name: 'Fixed seed' });
  await expect(fixed).not.toBeChecked();

  await app.prompt.fill('rain on a tin roof');
  await app.setSteps(25);
  await app.generateButton.click();
  await expect(app.results).toHaveCount(1);
  await app.generateButton.click();
  await expect(app.results).toHaveCount(2);
  const [second, first] = await app.allResults();
  expect(first!.request.seed).not.toBe(second!.request.seed); // two random draws
  await expect(app.seed).toHaveValue(String(second!.request.seed)); // the last one is shown

  // fix it with the keyboard: the next Generate uses exactly that seed
  await fixed.focus();
  await page.keyboard.press('Space');
  await expect(fixed).toBeChecked();
  await app.generateButton.click();
  await expect(app.results).toHaveCount(3);
  expect((await app.result()).request.seed).toBe(second!.request.seed);

  // typing a seed fixes it; a bad one is flagged and the last good seed is kept
  await fixed.uncheck();
  await app.seed.fill('12345');
  await expect(fixed).toBeChecked();
  await app.seed.fill('12x');
  await expect(app.seed).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByText('A seed is a whole number of 0 or more; the last valid one is kept.')).toBeVisible();
  await app.seed.fill('12345');
  await expect(app.seed).toHaveAttribute('aria-invalid', 'false');

  // copy through the Clipboard API
  await page.getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByTestId('copy-status')).toHaveText('Seed 12345 copied.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('12345');

  // and through the fallback when the page has no Clipboard API
  await page.evaluate(() => {
    (window as unknown as { realClipboard: Clipboard }).realClipboard = navigator.clipboard;
    Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });
  });
  await app.seed.fill('777');
  await page.getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByTestId('copy-status')).toHaveText('Seed 777 copied.');
  expect(await page.evaluate(() => (window as unknown as { realClipboard: Clipboard }).realClipboard.readText())).toBe('777');
  await expect(page.getByRole('button', { name: 'Copy' })).toBeFocused(); // focus came back from the hidden textarea
});

test('teacher/student switch (UI fixture pack): student steps, method choice, folded guidance, 1 NFE per step; the negative prompt for the teacher only', async ({ app, page }) => {
  await routeFixturePack(page.context());
  await app.goto({ backend: 'wasm', pack: FIXTURE_PACK_URL });
  await app.waitForReady();
  const teacherRadio = page.getByRole('radio', { name: 'Teacher' });
  const studentRadio = page.getByRole('radio', { name: 'Student' });
  const perSound = page.getByTestId('nfe-per-sound');
  // the fixture's metrics rank bsa-25 first of the 25-step students: the page starts there
  await expect(studentRadio).toBeChecked();
  await expect(page.getByTestId('student-id')).toHaveText('bsa-25 (bsa, distilled for 25 steps)');
  // a student has no unconditional branch: the negative prompt is disabled, and says why in one sentence
  const negative = page.getByLabel('Negative prompt');
  await expect(negative).toBeDisabled();
  await expect(page.getByTestId('negative-help')).toHaveText(
    'Not for this student: its guidance is folded into its weights, so there is no unconditional branch to steer.',
  );
  await teacherRadio.check();
  await expect(negative).toBeEnabled();
  await app.setSteps(100);
  await expect(teacherRadio).toBeChecked();

  // arrow keys move within the radio group: to Student; no student at 100 steps -> the nearest N (50)
  await teacherRadio.focus();
  await page.keyboard.press('ArrowRight');
  await expect(studentRadio).toBeChecked();
  await expect(page.getByTestId('steps-value')).toHaveText('50');
  await expect(page.getByTestId('student-id')).toHaveText('bsa-50 (bsa, distilled for 50 steps)');
  await expect(perSound).toHaveText('50'); // 1 per step
  await expect(page.getByTestId('guidance-folded')).toBeVisible();
  await expect(page.getByRole('slider', { name: /^Guidance scale/ })).toHaveCount(0);

  // the student side's slider offers only the students' N: 25 and 50
  await app.steps.focus();
  await page.keyboard.press('End');
  await expect(page.getByTestId('steps-value')).toHaveText('50');
  await page.keyboard.press('Home');
  await expect(page.getByTestId('steps-value')).toHaveText('25');
  await expect(perSound).toHaveText('25');
  const method = page.getByLabel('Method', { exact: true });
  await expect(method.locator('option')).toHaveText(['bsa', 'eps']);
  await method.selectOption('eps');
  await expect(page.getByTestId('student-id')).toHaveText('eps-25 (eps, distilled for 25 steps)');
  await method.selectOption('bsa');
  await expect(page.getByTestId('student-id')).toHaveText('bsa-25 (bsa, distilled for 25 steps)');

  await app.prompt.fill('a trumpet plays');
  await app.seed.fill('3');
  await app.generateButton.click();
  await app.waitForAudio();
  const r = await app.result();
  expect(r.request).toMatchObject({ denoiserId: 'bsa-25', steps: 25, guidanceScale: 1, seed: 3 });
  expect(r.networkEvaluations).toBe(25);
  expect(r.fileName).toBe('a-trumpet-plays_bsa-25_25-steps_seed-3.wav');
  await expect(app.results.first().getByTestId('result-meta')).toContainText('bsa-25 · 25 steps · seed 3 · guidance folded');

  // back to the teacher: the step count is kept, guidance and 2 NFE per step return
  await teacherRadio.check();
  await expect(page.getByTestId('steps-value')).toHaveText('25');
  await expect(perSound).toHaveText('50');
  await expect(page.getByRole('slider', { name: /^Guidance scale/ })).toBeVisible();

  // the teacher's negative prompt goes with the request and the result says so
  await negative.fill('a man speaks');
  await app.generateButton.click();
  await expect(app.results).toHaveCount(2, { timeout: 90_000 });
  const t = await app.result();
  expect(t.request).toMatchObject({ denoiserId: 'teacher', steps: 25, seed: 3, negativePrompt: 'a man speaks' });
  expect(t.networkEvaluations).toBe(50); // still 2 per step: the negative prompt takes the unconditional row
  await expect(app.results.first().getByTestId('result-meta')).toContainText('teacher · 25 steps · seed 3 · guidance 3 · negative “a man speaks”');
});
