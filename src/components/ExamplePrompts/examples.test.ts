import { describe, expect, it } from 'vitest';
import { groupExamples, rovingIndex } from './examples';
import type { VocabularyEntry } from '../../runtime/pack-types';

const entry = (key: string, category: string, example?: string): VocabularyEntry => ({
  key, name: key.replace('_', ' '), category, examples: example === undefined ? [] : [example, `${example} twice`],
});
const vocabulary = [
  entry('piano', 'music', 'a piano plays a melody'),
  entry('dog', 'effects', 'a dog barks'),
  entry('violin', 'music', 'a violin plays a melody'),
  entry('flute', 'music', 'a flute plays a melody'),
  entry('mute', 'music'),
];

describe('groupExamples', () => {
  it('groups by category in order of appearance, a few per category, the rest behind "more"', () => {
    const groups = groupExamples(vocabulary, new Set(), 2);
    expect(groups.map((g) => [g.category, g.chips.map((c) => c.prompt), g.hidden])).toEqual([
      ['music', ['a piano plays a melody', 'a violin plays a melody'], 1],
      ['effects', ['a dog barks'], 0],
    ]);
    expect(groupExamples(vocabulary, new Set(['music']), 2)[0]!.chips.map((c) => c.key)).toEqual(['piano', 'violin', 'flute']);
    expect(groupExamples([])).toEqual([]);
  });
});

describe('rovingIndex', () => {
  it('moves with the arrows (wrapping), Home and End; other keys are not the group’s', () => {
    expect([rovingIndex('ArrowRight', 0, 3), rovingIndex('ArrowRight', 2, 3), rovingIndex('ArrowLeft', 0, 3)]).toEqual([1, 0, 2]);
    expect([rovingIndex('ArrowDown', 1, 3), rovingIndex('ArrowUp', 1, 3), rovingIndex('Home', 2, 3), rovingIndex('End', 0, 3)]).toEqual([2, 0, 0, 2]);
    expect(rovingIndex('Enter', 0, 3)).toBeNull();
    expect(rovingIndex('ArrowRight', 0, 0)).toBeNull();
  });
});
