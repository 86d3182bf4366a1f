import { describe, expect, it } from 'vitest';
import { fillExample } from './example-fill';

describe('fillExample', () => {
  it('fills an empty box with nothing to undo', () => {
    expect(fillExample({ prompt: '  ', promptBefore: null }, 'a dog barks')).toEqual({ prompt: 'a dog barks', promptBefore: null });
  });

  it('keeps a typed prompt for Undo, also across further example clicks', () => {
    const first = fillExample({ prompt: 'my own words', promptBefore: null }, 'a dog barks');
    expect(first).toEqual({ prompt: 'a dog barks', promptBefore: 'my own words' });
    expect(fillExample(first, 'a piano plays a melody')).toEqual({ prompt: 'a piano plays a melody', promptBefore: 'my own words' });
    // the same example again: nothing typed is lost
    expect(fillExample({ prompt: 'a dog barks', promptBefore: null }, 'a dog barks').promptBefore).toBeNull();
  });
});
