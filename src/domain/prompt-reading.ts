// Knowing what the model knows: how close a prompt is to what the pack was trained on, read
// before generating. The worker computes it with the pack's own text encoder (the cosine of the
// prompt's mean-pooled hidden state against each of the vocabulary's example prompts,
// src/worker/prompt-reader.ts); this file says it in words. Pure, unit-tested. Nothing is refused.

/** What the worker found for one prompt. */
export interface PromptReading {
  prompt: string;
  /** cosine similarity (-1..1) to the nearest example prompt; null when the pack lists no vocabulary */
  similarity: number | null;
  /** the vocabulary entry of that example, and the example itself */
  nearest: { key: string; name: string; example: string } | null;
  /** the prompt's words the tokenizer reads as its unknown token (emoji, other scripts) */
  unknownWords: string[];
}

/**
 * From this similarity on a prompt reads as near. Measured on the shipped pack (all-MiniLM-L6-v2,
 * int8): rewordings of its sounds score 0.70 to 1 ("someone plays the piano" 0.85, "a trumpet plays
 * while a woman speaks" 0.71), sounds it never heard 0.14 to 0.35 ("a dog barks" 0.34, "thunder
 * rumbles" 0.25, "un homme qui parle" 0.18).
 */
export const NEAR_AT = 0.55;

export type Closeness = 'near' | 'far';

/** near or far; null when there is nothing to compare with. */
export function closeness(similarity: number | null): Closeness | null {
  if (similarity === null) return null;
  return similarity >= NEAR_AT ? 'near' : 'far';
}

/** A list in words: “a”, “a” and “b”, “a”, “b” and “c”. */
const quoted = (words: readonly string[]): string => {
  const q = words.map((w) => `“${w}”`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} and ${q.at(-1)}`;
};

export interface ReadingView {
  closeness: Closeness | null;
  /** how close, with the nearest known sound named; null without a vocabulary */
  text: string | null;
  /** a plain sentence about words the model cannot read; null when there are none */
  unknown: string | null;
}

/** The reading in words, as the page shows it under the prompt. */
export function readingView(r: PromptReading): ReadingView {
  const near = closeness(r.similarity);
  const example = r.nearest ? `“${r.nearest.example}”` : '';
  const score = r.similarity === null ? '' : ` (similarity ${r.similarity.toFixed(2)})`;
  const text =
    near === null
      ? null
      : near === 'near'
        ? `Near what this pack was trained on: closest to ${example}${score}.`
        : `Far from what this pack was trained on: the nearest sound it knows is ${example}${score}. It will still try.`;
  const n = r.unknownWords.length;
  const unknown =
    n === 0
      ? null
      : `${quoted(r.unknownWords)} ${n === 1 ? 'is' : 'are'} unknown to the model: its tokenizer has no entry for ${n === 1 ? 'these symbols' : 'them'}, so they add nothing to the sound.`;
  return { closeness: near, text, unknown };
}
