import { describe, expect, it } from 'vitest';
import { nfeCost, nfePerStep } from './cost';
import { slugify, wavFileName } from './filename';

const teacher = { guidance: { type: 'classifier-free' as const, defaultScale: 3 } };
const student = { guidance: { type: 'folded' as const } };

describe('nfeCost', () => {
  it('teacher with guidance: 2 evaluations per step; student: 1', () => {
    expect(nfePerStep(teacher)).toBe(2);
    expect(nfePerStep(student)).toBe(1);
    expect([200, 100, 50, 25].map((n) => nfeCost(teacher, n))).toEqual([400, 200, 100, 50]);
    expect(nfeCost(student, 25)).toBe(25);
  });

  it('refuses a step count that is not a positive integer', () => {
    expect(() => nfeCost(teacher, 0)).toThrow(/positive integer, got 0/);
    expect(() => nfeCost(student, 2.5)).toThrow(/got 2.5/);
  });
});

describe('wavFileName', () => {
  it('joins prompt slug, model, steps and seed', () => {
    expect(wavFileName('A Dog barks, loudly!', 'teacher', 25, 7)).toBe('a-dog-barks-loudly_teacher_25-steps_seed-7.wav');
    expect(wavFileName('rain', 'bsa-25', 25, 0)).toBe('rain_bsa-25_25-steps_seed-0.wav');
    expect(wavFileName('   ', 'Min SNR/25', 200, 123456)).toBe('sound_min-snr-25_200-steps_seed-123456.wav');
  });

  it('slugs long prompts at a word boundary, at most 48 characters', () => {
    expect(slugify('a dog barks while rain falls on a tin roof, thunder in the distance')).toBe(
      'a-dog-barks-while-rain-falls-on-a-tin-roof',
    );
    expect(slugify('x'.repeat(60))).toHaveLength(48);
    expect(slugify('Café crème')).toBe('cafe-creme');
    expect(slugify('***', 'model')).toBe('model');
  });
});
