import { describe, expect, it } from 'vitest';
import { acceptsSteps, offersSteps, stepsRefusal } from './steps';

const teacher = { id: 'teacher', role: 'teacher' as const, steps: [200, 100, 50, 25] };
const student = { id: 'bsa-25', role: 'student' as const, steps: [25] };

describe('which step counts a denoiser accepts', () => {
  it('a teacher: any N dividing num_train_timesteps, listed or not', () => {
    for (const n of [1, 4, 8, 25, 40, 200, 1000]) expect(acceptsSteps(teacher, n, 1000)).toBe(true);
    expect(stepsRefusal(teacher, 3, 1000)).toBe('steps 3 does not divide 1000: the teacher samples on N-step grids with N dividing 1000');
    expect(acceptsSteps(teacher, 2000, 1000)).toBe(false);
  });

  it('a student: only its own N', () => {
    expect(acceptsSteps(student, 25, 1000)).toBe(true);
    expect(stepsRefusal(student, 50, 1000)).toBe('student "bsa-25" was distilled for 25 steps and cannot sample with 50');
    expect(stepsRefusal(student, 3, 1000)).toMatch(/distilled for 25 steps/);
  });

  it('refuses counts that are not positive integers', () => {
    for (const n of [0, -25, 2.5, Number.NaN]) expect(stepsRefusal(teacher, n, 1000)).toMatch(/^steps must be a positive integer/);
  });

  it('the page offers the listed counts, each of them accepted', () => {
    expect(offersSteps(teacher, 25)).toBe(true);
    expect(offersSteps(teacher, 40)).toBe(false);
    for (const d of [teacher, student]) {
      for (const n of d.steps) expect(acceptsSteps(d, n, 1000)).toBe(true);
      for (const n of [1, 25, 50, 7]) if (d.role === 'student') expect(offersSteps(d, n)).toBe(acceptsSteps(d, n, 1000));
    }
  });
});
