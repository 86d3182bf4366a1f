import { describe, expect, it } from 'vitest';
import type { DenoiserSummary } from '../domain/pack-summary';
import type { MetricsTable } from '../runtime/manifest';
import {
  addToTally, assignAB, cellKey, denoiserForCell, earlierTeacherNote, earsFor, emptyTally, figuresPrecisionNote, fillPlan, formatMetric, formatShare, gridColumns, gridSteps, hasLogMel, metricsFor, randomPair,
} from './grid';

const teacher: DenoiserSummary = {
  id: 'teacher', role: 'teacher', method: null, steps: [200, 100, 50, 25], guidance: { type: 'classifier-free', defaultScale: 3 },
};
const student = (id: string, method: string, n: number): DenoiserSummary => ({
  id, role: 'student', method, steps: [n], guidance: { type: 'folded' },
});
const pack = [teacher, student('bsa-25', 'bsa', 25), student('bsa-50', 'bsa', 50), student('eps-25', 'eps', 25)];

describe('grid', () => {
  it('columns: the teacher, then each student method once, in manifest order', () => {
    expect(gridColumns(pack).map((c) => c.label)).toEqual(['teacher', 'bsa', 'eps']);
    expect(gridColumns([teacher]).map((c) => c.key)).toEqual(['teacher:teacher']);
  });

  it('says which students an earlier teacher made, and nothing when the teacher made them all', () => {
    expect(earlierTeacherNote(pack)).toBeNull();
    const older = pack.map((d) => (d.id === 'bsa-25' || d.id === 'eps-25' ? { ...d, earlierTeacher: true as const } : d));
    expect(earlierTeacherNote(older)).toBe(
      "bsa-25, eps-25 were distilled from an earlier teacher than this pack's: the teacher was trained further after them, " +
        'and they have not been distilled from it again yet.',
    );
    expect(earlierTeacherNote(older.slice(0, 2))).toMatch(/^bsa-25 was distilled/);
  });

  it('a method fills only the rows it has students for', () => {
    const [, bsa, eps] = gridColumns(pack);
    expect(denoiserForCell(pack, bsa!, 50)?.id).toBe('bsa-50');
    expect(denoiserForCell(pack, bsa!, 100)).toBeNull();
    expect(denoiserForCell(pack, eps!, 25)?.id).toBe('eps-25');
    expect(denoiserForCell(pack, eps!, 50)).toBeNull();
  });

  it('fills cheapest first: students by NFE, then the teacher from 25 to 200 steps', () => {
    const plan = fillPlan(pack);
    expect(plan.map((c) => `${c.key}:${c.nfe}`)).toEqual([
      'bsa-25@25:25', 'eps-25@25:25', 'teacher@25:50', 'bsa-50@50:50', 'teacher@50:100', 'teacher@100:200', 'teacher@200:400',
    ]);
    expect(plan[0]!.label).toBe('bsa · 25 steps');
    expect(fillPlan([teacher]).map((c) => c.steps)).toEqual([25, 50, 100, 200]);
  });

  it('rows: the paper\'s 200/100/50/25, then the step counts students go below 25 to (bsa-5, bsa-1), filled cheapest first', () => {
    expect(gridSteps(pack)).toEqual([200, 100, 50, 25]);
    const beyond = [...pack, student('bsa-1', 'bsa', 1), student('bsa-5', 'bsa', 5), student('snr-5', 'snr+1', 5)];
    expect(gridSteps(beyond)).toEqual([200, 100, 50, 25, 5, 1]);
    expect(fillPlan(beyond).slice(0, 3).map((c) => `${c.key}:${c.nfe}`)).toEqual(['bsa-1@1:1', 'bsa-5@5:5', 'snr-5@5:5']);
    expect(denoiserForCell(beyond, gridColumns(beyond)[0]!, 5)).toBeNull(); // the teacher is not offered at 5 steps
  });

  it('finds metrics rows by denoiser and steps and formats them, "—" when absent', () => {
    const m: MetricsTable = {
      judge: 'j', runs: 3,
      rows: [{ denoiser: 'bsa-25', steps: 25, nfe: 25, fad_judge: { mean: 1.234, ci95: 0.056 }, fd_mel: { mean: 7, ci95: null },
        adherence: { mean: 0.615, ci95: 0.031 } }],
    };
    const row = metricsFor(m, 'bsa-25', 25);
    expect(formatMetric(row?.fad_judge)).toBe('1.23 ± 0.06');
    expect(formatMetric(row?.fd_mel, 1)).toBe('7.0');
    expect(formatMetric(row?.adherence, 3, true)).toBe('61.5% ± 3.1%');
    expect(metricsFor(m, 'teacher', 25)).toBeNull();
    expect(metricsFor(null, 'bsa-25', 25)).toBeNull();
    expect(formatMetric(undefined)).toBe('—');
  });

  it('picks the free-form ears figures for a cell when measured, else the test ones, and formats shares', () => {
    const figures = (quiet: number | null) => ({ clips: 240, speech_when_named: 0.962, speech_when_not: 0.016, quiet,
      pairs_ordered: 0.85, speech_second_half: null });
    const row = { denoiser: 'bsa-25', steps: 25, nfe: 25, fad_judge: { mean: 1, ci95: null }, fd_mel: { mean: 1, ci95: null },
      adherence: { mean: 0.5, ci95: null } };
    expect(earsFor({ ...row, ears: { test: figures(0), free_form: figures(0.054) } })).toEqual({ set: 'free-form', figures: figures(0.054) });
    expect(earsFor({ ...row, ears: { test: figures(0) } })?.set).toBe('test');
    expect(earsFor(row)).toBeNull();
    expect(earsFor(null)).toBeNull();
    expect([formatShare(0.962), formatShare(0.016), formatShare(0), formatShare(null)]).toEqual(['96%', '2%', '0%', '—']);
  });

  it('shows the log-mel group when any row of the table has log-mel figures', () => {
    const audio = { fad_judge: { mean: 240, ci95: null }, fd_mel: { mean: 30, ci95: null }, adherence: { mean: 0.2, ci95: null } };
    const logMel = { fad_judge: { mean: 60.4, ci95: 1.5 }, fd_mel: { mean: 5, ci95: null }, adherence: { mean: 0.8, ci95: null } };
    const table = (...rows: MetricsTable['rows']): MetricsTable => ({ judge: 'j', runs: 3, rows });
    const plain = { denoiser: 'teacher', steps: 200, nfe: 400, ...audio };
    const measured = { denoiser: 'bsa-25', steps: 25, nfe: 25, ...audio, log_mel: logMel };
    expect(hasLogMel(table(plain, measured))).toBe(true);
    expect(hasLogMel(table(plain))).toBe(false);
    expect(hasLogMel(table())).toBe(false);
    expect(hasLogMel(null)).toBe(false);
    expect(hasLogMel(undefined)).toBe(false);
    const both = table(plain, measured);
    expect(formatMetric(metricsFor(both, 'bsa-25', 25)?.log_mel?.fad_judge)).toBe('60.40 ± 1.50');
    expect(formatMetric(metricsFor(both, 'teacher', 200)?.log_mel?.fad_judge)).toBe('—');
  });
});

describe('blind A/B', () => {
  it('assigns A and B by the coin, never the same cell twice', () => {
    expect(assignAB('x', 'y', () => 0.2)).toEqual(['x', 'y']);
    expect(assignAB('x', 'y', () => 0.7)).toEqual(['y', 'x']);
    expect(() => assignAB('x', 'x')).toThrow(/two different cells/);
  });

  it('draws two different cells, and asks for two when there are fewer', () => {
    const keys = ['a', 'b', 'c'];
    for (const [r1, r2] of [[0, 0], [0.99, 0.99], [0.5, 0.1], [0.1, 0.6]]) {
      const seq = [r1!, r2!];
      const [p, q] = randomPair(keys, () => seq.shift()!);
      expect(p).not.toBe(q);
      expect(keys).toContain(p);
      expect(keys).toContain(q);
    }
    expect(() => randomPair(['a'])).toThrow(/at least two cells/);
  });

  it('tallies wins per cell, ties and rounds', () => {
    let t = emptyTally();
    t = addToTally(t, [cellKey('teacher', 25), cellKey('bsa-25', 25)], 'B');
    t = addToTally(t, ['bsa-25@25', 'teacher@25'], 'A');
    t = addToTally(t, ['teacher@25', 'bsa-25@25'], 'tie');
    expect(t).toEqual({ rounds: 3, ties: 1, wins: { 'bsa-25@25': 2 }, played: { 'teacher@25': 3, 'bsa-25@25': 3 } });
  });

  it('says whose figures the table shows when the device runs a variant, and nothing on float32', () => {
    expect(figuresPrecisionNote(null)).toBeNull();
    expect(figuresPrecisionNote({ dtype: 'float32', reason: 'float32 weights, as requested' })).toBeNull();
    const note = figuresPrecisionNote({ dtype: 'int8', reason: 'int8 arithmetic for 1 of 16 graphs: faster than float32 on WASM' });
    expect(note).toBe(
      'The factory measured these figures on the float32 graphs. This device runs int8 arithmetic for 1 of 16 graphs: ' +
        'faster than float32 on WASM, so its clips differ slightly from the measured ones.',
    );
  });
});
