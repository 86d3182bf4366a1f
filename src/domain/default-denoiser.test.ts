import { describe, expect, it } from 'vitest';
import { bestStudent, defaultChoice } from './default-denoiser';
import type { DenoiserSummary } from './pack-summary';
import type { MetricsRow, MetricsTable } from '../runtime/pack-types';

const teacher: DenoiserSummary = { id: 'teacher', role: 'teacher', method: null, steps: [200, 100, 50, 25], guidance: { type: 'classifier-free', defaultScale: 3 } };
const student = (id: string, n: number): DenoiserSummary => ({ id, role: 'student', method: id.split('-')[0] ?? id, steps: [n], guidance: { type: 'folded' } });
const row = (denoiser: string, steps: number, fad: number): MetricsRow => ({
  denoiser, steps, nfe: steps, fad_judge: { mean: fad, ci95: null }, fd_mel: { mean: 1, ci95: null }, adherence: { mean: 0.5, ci95: null },
});
const table = (...rows: MetricsRow[]): MetricsTable => ({ judge: 'j', runs: 5, rows });
const pack = [teacher, student('bsa-50', 50), student('bsa-25', 25), student('snr-25', 25), student('eps-25', 25)];

describe('defaultChoice', () => {
  it('picks the 25-step student with the lowest audio fad_judge; other step counts and the teacher do not compete', () => {
    const metrics = table(row('teacher', 25, 1), row('bsa-50', 50, 2), row('bsa-25', 25, 55.98), row('snr-25', 25, 55.42), row('eps-25', 25, 56.7));
    expect(defaultChoice(pack, metrics)).toEqual({ denoiserId: 'snr-25', steps: 25 });
    expect(bestStudent(pack.filter((d) => d.role === 'student' && d.steps[0] === 25), metrics)?.id).toBe('snr-25');
  });

  it('without metrics, or without a 25-step row, takes the first 25-step student', () => {
    expect(defaultChoice(pack, null)).toEqual({ denoiserId: 'bsa-25', steps: 25 });
    expect(defaultChoice(pack, table(row('teacher', 25, 1)))).toEqual({ denoiserId: 'bsa-25', steps: 25 });
    // a row for only some students: the measured one
    expect(defaultChoice(pack, table(row('eps-25', 25, 90)))).toEqual({ denoiserId: 'eps-25', steps: 25 });
  });

  it('without a 25-step student, the teacher at its fewest steps', () => {
    expect(defaultChoice([teacher, student('bsa-50', 50)], null)).toEqual({ denoiserId: 'teacher', steps: 25 });
    expect(defaultChoice([{ ...teacher, steps: [200, 100] }], null)).toEqual({ denoiserId: 'teacher', steps: 100 });
    expect(defaultChoice([], null)).toBeNull();
  });

  it('the manifest default_denoiser wins, at its own N (a teacher: its fewest steps); an unknown id falls back to the rule', () => {
    expect(defaultChoice(pack, null, 'bsa-50')).toEqual({ denoiserId: 'bsa-50', steps: 50 });
    expect(defaultChoice(pack, null, 'teacher')).toEqual({ denoiserId: 'teacher', steps: 25 });
    expect(defaultChoice(pack, null, 'ghost')).toEqual({ denoiserId: 'bsa-25', steps: 25 });
  });
});
