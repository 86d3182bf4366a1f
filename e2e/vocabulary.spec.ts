// Knowing what the model knows: the pack's sound vocabulary as example prompts to click.

import { test, expect } from './fixtures';
import { CHIPS_PER_CATEGORY } from '../src/components/ExamplePrompts/examples';

interface Vocab {
  key: string;
  category: string;
  examples: string[];
}

test('the pack’s sounds as example prompts by category: a click fills the box and never generates; a typed prompt comes back with Undo; one Tab stop, arrow keys inside', async ({ app, page }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const vocabulary = await page.evaluate(
    () => (window as unknown as { __soundstep: { getState(): { manifest: { vocabulary: Vocab[] } } } }).__soundstep.getState().manifest.vocabulary,
  );
  const categories = [...new Set(vocabulary.map((v) => v.category))];
  expect(categories).toEqual(['music', 'effects', 'percussion', 'speech', 'synthetic']);
  const toolbar = page.getByRole('toolbar', { name: /^Example sounds this pack was trained on/ });
  // three chips per category (CHIPS_PER_CATEGORY), in the pack's own wording, then "N more"
  for (const c of categories) {
    const entries = vocabulary.filter((v) => v.category === c);
    const group = page.getByTestId(`examples-${c}`);
    const chips = entries.slice(0, CHIPS_PER_CATEGORY).map((v) => v.examples[0]!);
    const more = entries.length > CHIPS_PER_CATEGORY ? [`${entries.length - CHIPS_PER_CATEGORY} more ${c} examples`] : [];
    await expect(group.getByRole('button')).toHaveText([...chips, ...more]);
  }

  // a click fills the empty box, with nothing to undo, and generates nothing
  await toolbar.getByRole('button', { name: 'a piano plays a melody' }).click();
  await expect(app.prompt).toHaveValue('a piano plays a melody');
  await expect(page.getByTestId('example-undo')).toHaveText('');
  await expect(app.generateButton).toBeEnabled();
  await expect(app.progressbar).toHaveCount(0);

  // a typed prompt is replaced, and comes back with Undo (also after a second example)
  await app.prompt.fill('a kettle whistles in my kitchen');
  await page.getByTestId('examples-effects').getByRole('button').first().click();
  await expect(app.prompt).toHaveValue(vocabulary.find((v) => v.category === 'effects')!.examples[0]!);
  await toolbar.getByRole('button', { name: 'a harpsichord plays a melody' }).click();
  await expect(page.getByTestId('example-undo')).toContainText('An example replaced your prompt.');
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(app.prompt).toHaveValue('a kettle whistles in my kitchen');
  await expect(page.getByTestId('example-undo')).toHaveText('');

  // "more" shows the whole category, "fewer" folds it again
  const music = page.getByTestId('examples-music');
  const musicCount = vocabulary.filter((v) => v.category === 'music').length;
  await music.getByRole('button', { name: /more music examples/ }).click();
  await expect(music.getByRole('button')).toHaveCount(musicCount + 1);
  await expect(music.getByRole('button', { name: /fewer/ })).toHaveAttribute('aria-expanded', 'true');
  await music.getByRole('button', { name: /fewer/ }).click();
  await expect(music.getByRole('button')).toHaveCount(CHIPS_PER_CATEGORY + 1);

  // keyboard: one Tab stop from the prompt, arrow keys inside, Enter fills
  await app.prompt.fill('');
  await app.prompt.focus();
  await page.keyboard.press('Tab');
  // the group's one tab stop is the button used last ("more music examples"); Home goes to the first chip
  await expect(music.getByRole('button', { name: /more music examples/ })).toBeFocused();
  await page.keyboard.press('Home');
  await expect(toolbar.getByRole('button').first()).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(toolbar.getByRole('button', { name: 'a harpsichord plays a melody' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(app.prompt).toHaveValue('a harpsichord plays a melody');
  await page.keyboard.press('Tab'); // out of the group, to the model switch
  await expect(page.getByRole('radio', { name: 'Student' })).toBeFocused();

  expect(await app.allResults()).toEqual([]); // nothing was generated
});

test('before generating, a quiet reading says how close the prompt is to what the pack was trained on, and which symbols it cannot read; nothing is refused', async ({ app, page }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const reading = page.getByTestId('prompt-reading');
  /** type `prompt` and wait for its reading (the first one also embeds the pack's 136 example prompts) */
  const readingOf = async (prompt: string) => {
    await app.prompt.fill(prompt);
    await expect(reading).toHaveAttribute('data-for', prompt, { timeout: 90_000 });
    await expect(reading).toHaveAttribute('data-stale', 'false');
  };

  await readingOf('a piano plays a melody');
  await expect(reading).toHaveAttribute('data-closeness', 'near');
  await expect(reading).toContainText('Near what this pack was trained on: closest to “a piano plays a melody” (similarity 1.00).');
  await expect(page.getByTestId('prompt-unknown')).toHaveCount(0);

  await readingOf('🐶🔊');
  await expect(page.getByTestId('prompt-unknown')).toHaveText('“🐶🔊” is unknown to the model: its tokenizer has no entry for these symbols, so they add nothing to the sound.');

  await readingOf('un homme qui parle');
  await expect(reading).toHaveAttribute('data-closeness', 'far');
  await expect(reading).toContainText('Far from what this pack was trained on: the nearest sound it knows is “');
  await expect(reading).toContainText('It will still try.');
  await expect(app.generateButton).toBeEnabled(); // nothing is refused
  await expect(app.prompt).toHaveAttribute('aria-describedby', /prompt-reading/);

  // a far prompt generates like any other; a prompt typed meanwhile is read once the generation is done
  await app.generateButton.click();
  await app.prompt.fill('a harp plays a melody');
  await expect(app.results).toHaveCount(1, { timeout: 90_000 });
  expect((await app.result()).request.prompt).toBe('un homme qui parle');
  await expect(reading).toHaveAttribute('data-for', 'a harp plays a melody', { timeout: 60_000 });
  await expect(reading).toHaveAttribute('data-closeness', 'near');

  // an empty box reads nothing
  await app.prompt.fill('');
  await expect(reading).toHaveText('');
});
