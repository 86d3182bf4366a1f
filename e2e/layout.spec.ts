// Quality of the page for generating and comparing: a phone-width layout (360 px) without
// sideways scrolling (the grid scrolls inside its own region), the comparison grid as a side
// panel on wide screens, a keyboard focus order that follows the form, and a name on every control.

import { test, expect } from './fixtures';
import { FIXTURE_PACK_URL, routeFixturePack } from './ui-fixture-pack';

test('360 px wide: nothing overflows the page, the grid scrolls in its own keyboard-focusable region', async ({ app, page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await routeFixturePack(page.context());
  await app.goto({ backend: 'wasm', pack: FIXTURE_PACK_URL });
  await app.waitForReady();
  await app.prompt.fill('a dog barks');

  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  for (const control of [app.prompt, app.steps, app.generateButton, page.getByRole('button', { name: 'Fill the grid' })]) {
    const box = await control.boundingBox();
    expect(box, 'control is laid out').not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(360);
  }
  const region = page.getByRole('region', { name: 'Comparison grid (scrolls sideways)' });
  const widths = await region.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  expect(widths.scroll).toBeGreaterThan(widths.client); // 3 method columns do not fit: the region scrolls
  await region.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect.poll(() => region.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
});

test('from 1100 px the comparison grid is a side panel beside the generator and its results; narrower, they stack', async ({ app, page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await routeFixturePack(page.context());
  await app.goto({ backend: 'wasm', pack: FIXTURE_PACK_URL });
  await app.waitForReady();
  const form = page.getByRole('form', { name: 'Describe a sound' });
  const panel = page.getByRole('complementary', { name: 'Comparison of steps and methods' });
  const pack = page.getByTestId('pack-status');
  const box = async (l: typeof form) => {
    const b = await l.boundingBox();
    if (!b) throw new Error('not laid out');
    return b;
  };

  const [f, p, k] = [await box(form), await box(panel), await box(pack)];
  expect(p.x).toBeGreaterThanOrEqual(f.x + f.width); // beside the generator, on its right
  expect(Math.abs(p.y - f.y)).toBeLessThan(2); // tops aligned
  expect(p.x + p.width).toBeLessThanOrEqual(1280);
  expect(Math.abs(k.x - f.x)).toBeLessThan(1); // the pack card stays in the generator's column
  expect(k.y).toBeGreaterThan(f.y + f.height);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

  // one pixel under the breakpoint: stacked in document order, generator, comparison, pack
  await page.setViewportSize({ width: 1099, height: 900 });
  const [f2, p2, k2] = [await box(form), await box(panel), await box(pack)];
  expect(Math.abs(p2.x - f2.x)).toBeLessThan(1);
  expect(p2.y).toBeGreaterThan(f2.y + f2.height);
  expect(k2.y).toBeGreaterThan(p2.y + p2.height);
});

test('keyboard: Tab from the prompt follows the form to Generate; every control has a name', async ({ app, page }) => {
  await routeFixturePack(page.context());
  await app.goto({ backend: 'wasm', pack: FIXTURE_PACK_URL });
  await app.waitForReady();
  await app.prompt.fill('a dog barks');
  await app.prompt.focus();

  /** What has focus: "role:name" from its label, aria-label or text. */
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return 'none';
      const input = el as HTMLInputElement;
      const name = input.labels?.[0]?.textContent?.trim() || el.getAttribute('aria-label') || el.textContent?.trim() || '';
      const role = el.getAttribute('role') ?? (el.tagName === 'INPUT' ? `input-${input.type}` : el.tagName.toLowerCase());
      return `${role}:${name.split(':')[0]}`;
    });
  const order: string[] = [];
  for (let i = 0; i < 11; i++) {
    await page.keyboard.press('Tab');
    order.push(await focused());
  }
  // the page starts on the fixture's best 25-step student (bsa-25): the checked radio, its method, no guidance slider
  // the example prompts are one Tab stop (arrow keys move inside them)
  expect(order).toEqual([
    'button:a piano plays a melody',
    'input-radio:Student',
    'select:Method',
    'input-range:Steps',
    'input-text:Seed',
    'button:Copy',
    'switch:Fixed seed',
    'select:Variations',
    'select:Length', // the fixture's graphs take longer latents
    'button:Generate',
    // then the comparison panel
    'button:Fill the grid',
  ]);

  // every form control and button on the page has an accessible name
  const unnamed = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('main input, main select, main textarea, main button, main a[href]'))
      .filter((el) => {
        const labels = (el as HTMLInputElement).labels;
        const name = (labels && labels.length > 0 ? labels[0]!.textContent : '') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent;
        return !name || name.trim() === '';
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  expect(unnamed).toEqual([]);
});
