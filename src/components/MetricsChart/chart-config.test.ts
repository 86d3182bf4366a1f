// The chart's dodge: methods at the same step count are drawn a little apart, and read back at it.
import { describe, expect, it } from 'vitest';
import { dodge, nearestStep } from './chart-config';

describe('dodge and nearestStep', () => {
  it('spreads n series symmetrically around the step, 4% apart', () => {
    const f = [0, 1, 2, 3, 4].map((i) => dodge(i, 5));
    expect(f[2]).toBe(1);
    expect(f[0]! * f[4]!).toBeCloseTo(1, 12);
    expect(f[1]! / f[0]!).toBeCloseTo(1.04, 12);
    expect(dodge(0, 1)).toBe(1);
  });

  it('reads every dodged point back at its own step', () => {
    const steps = [25, 50, 100, 200];
    for (const s of steps) for (let i = 0; i < 7; i++) expect(nearestStep(s * dodge(i, 7), steps)).toBe(s);
    expect(nearestStep(35, steps)).toBe(25); // either side of the geometric middle (35.4) of 25 and 50
    expect(nearestStep(36, steps)).toBe(50);
    expect(nearestStep(36, [])).toBe(36);
  });
});
