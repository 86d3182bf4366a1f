import { describe, expect, it } from 'vitest';
import { NEAR_AT, closeness, readingView, type PromptReading } from './prompt-reading';

const piano = { key: 'piano', name: 'piano', example: 'a piano plays a melody' };
const reading = (similarity: number | null, unknownWords: string[] = []): PromptReading => ({
  prompt: 'x', similarity, nearest: similarity === null ? null : piano, unknownWords,
});

describe('prompt reading', () => {
  it('reads near from NEAR_AT on, far below, nothing without a vocabulary', () => {
    expect([closeness(1), closeness(NEAR_AT), closeness(NEAR_AT - 0.01), closeness(-0.2), closeness(null)]).toEqual(['near', 'near', 'far', 'far', null]);
  });

  it('says how close, naming the nearest known sound', () => {
    expect(readingView(reading(0.97))).toEqual({
      closeness: 'near',
      text: 'Near what this pack was trained on: closest to “a piano plays a melody” (similarity 0.97).',
      unknown: null,
    });
    expect(readingView(reading(0.184)).text).toBe(
      'Far from what this pack was trained on: the nearest sound it knows is “a piano plays a melody” (similarity 0.18). It will still try.',
    );
    expect(readingView(reading(null))).toEqual({ closeness: null, text: null, unknown: null });
  });

  it('says plainly which words the model cannot read', () => {
    expect(readingView(reading(0.2, ['🐶🔊'])).unknown).toBe(
      '“🐶🔊” is unknown to the model: its tokenizer has no entry for these symbols, so they add nothing to the sound.',
    );
    expect(readingView(reading(0.2, ['🐶', 'привет', '🔊'])).unknown).toBe(
      '“🐶”, “привет” and “🔊” are unknown to the model: its tokenizer has no entry for them, so they add nothing to the sound.',
    );
  });
});
