// Prompt rules: a blank prompt cannot be generated (and the page says why); an overlong one
// generates and the page says it was truncated; one that names an order is made in two halves
// (docs/sampling.md E23) and the page says so.

import { test, expect } from './fixtures';

test('an empty or blank prompt disables Generate and shows the reason', async ({ app }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();

  await expect(app.prompt).toHaveValue('');
  await expect(app.generateButton).toBeDisabled();
  await expect(app.generateReason).toHaveText('Type a prompt to generate');
  await expect(app.generateReason).toBeVisible();

  await app.prompt.fill('   \n\t  ');
  await expect(app.generateButton).toBeDisabled();
  await expect(app.generateReason).toHaveText('Type a prompt to generate');

  await app.prompt.fill('birds chirping');
  await expect(app.generateButton).toBeEnabled();
  await expect(app.generateReason).toHaveText('');

  await app.prompt.fill('');
  await expect(app.generateButton).toBeDisabled();
  await expect(app.generateReason).toHaveText('Type a prompt to generate');
});

test('an overlong prompt generates and the page says it was truncated', async ({ app }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  const manifest = await app.manifest();

  const words = ['rain', 'thunder', 'wind', 'birds', 'a', 'dog', 'barks', 'far', 'away', 'engine'];
  const prompt = Array.from({ length: 200 }, (_, i) => words[i % words.length]).join(' ');
  await app.startGeneration(prompt, 25);
  await app.waitForAudio();

  await expect(app.truncatedNote).toBeVisible();
  await expect(app.truncatedNote).toContainText('truncated');
  await expect(app.truncatedNote).toContainText(`at most ${manifest.maxTokens} tokens`);
  const result = await app.result();
  expect(result.truncated).toBe(true);
  expect(result.tokenCount).toBeGreaterThan(manifest.maxTokens);
  await expect(app.prompt).toHaveValue(prompt);
});

test('a prompt that names an order is made in two halves, and the page says which part comes first', async ({ app }) => {
  await app.goto({ backend: 'wasm' });
  await app.waitForReady();
  await app.startGeneration('a phone rings followed by a man talking', 25);
  await app.waitForAudio();
  const note = app.page.getByTestId('time-split');
  await expect(note).toHaveText('Your prompt names an order, so it was made in two halves: “a phone rings” first, then “a man talking”.');
  const result = await app.result();
  expect(result.timeSplit).toEqual(['a phone rings', 'a man talking']);
  expect(result.networkEvaluations).toBe(2 * 25); // the default student: both halves every step
});
