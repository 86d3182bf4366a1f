// The pack's sound vocabulary as example prompts: grouped by category, a few per category until
// "more" is pressed, and a roving focus (one Tab stop for the whole group, arrow keys inside it).
// Pure, so it is unit-tested; index.tsx renders it.

import type { VocabularyEntry } from '../../runtime/pack-types';

/** Chips a category shows before its "more" button is pressed. */
export const CHIPS_PER_CATEGORY = 3;

export interface ExampleChip {
  key: string;
  /** the prompt a click puts in the box: the entry's first example, in the pack's own wording */
  prompt: string;
  /** the sound's name, for the chip's tooltip */
  name: string;
}

export interface ExampleGroup {
  category: string;
  /** the chips shown now */
  chips: ExampleChip[];
  /** chips "more" would add (0: nothing is hidden) */
  hidden: number;
}

/**
 * The vocabulary by category, in the order categories first appear; a category not in
 * `expanded` shows its first `perCategory` chips. Entries without an example are left out.
 */
export function groupExamples(
  vocabulary: readonly VocabularyEntry[],
  expanded: ReadonlySet<string> = new Set(),
  perCategory = CHIPS_PER_CATEGORY,
): ExampleGroup[] {
  const all = new Map<string, ExampleChip[]>();
  for (const v of vocabulary) {
    const prompt = v.examples[0];
    if (prompt === undefined) continue;
    const list = all.get(v.category) ?? [];
    list.push({ key: v.key, prompt, name: v.name });
    all.set(v.category, list);
  }
  return [...all].map(([category, chips]) => {
    const shown = expanded.has(category) ? chips : chips.slice(0, perCategory);
    return { category, chips: shown, hidden: chips.length - shown.length };
  });
}

/** Where focus goes inside the group for a key press (ARIA toolbar keys); null: the key is not ours. */
export function rovingIndex(key: string, index: number, count: number): number | null {
  if (count <= 0) return null;
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return (index + 1) % count;
    case 'ArrowLeft':
    case 'ArrowUp':
      return (index - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}
