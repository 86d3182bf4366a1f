import { describe, expect, it } from 'vitest';
import type { DenoiserSummary } from '../domain/pack-summary';
import type { MetricsTable } from '../runtime/manifest';
import { chartMetrics, chartPoint, chartSeries, compactFigure, metricValue } from './chart-data';
import { GRID_STEPS } from './grid';

const teacher: DenoiserSummary = {
  id: 'teacher', role: 'teacher', method: null, steps: [200, 100, 50, 25], guidance: { type: 'classifier-free', defaultScale: 3 },
};
const student = (id: string, method: string, n: number): DenoiserSummary => ({
  id, role: 'student', method, steps: [n], guidance: { type: 'folded' },
});
const pack = [teacher, student('bsa-25', 'bsa', 25), student('bsa-50', 'bsa', 50), student('eps-25', 'eps', 25)];
const v = (mean: number, ci95: number | null = null) => ({ mean, ci95 });
const table: MetricsTable = {
  judge: 'test judge',
  runs: 3,
  rows: [
    { denoiser: 'teacher', steps: 200, nfe: 400, fad_judge: v(1.5, 0.25), fd_mel: v(3), adherence: v(0.6, 0.05), log_mel: { fad_judge: v(9), fd_mel: v(8), adherence: v(0.7) } },
    { denoiser: 'teacher', steps: 25, nfe: 50, fad_judge: v(4, 0.5), fd_mel: v(5), adherence: v(0.4) },
    { denoiser: 'bsa-50', steps: 50, nfe: 50, fad_judge: v(2.5, 0.125), fd_mel: v(4), adherence: v(0.5) },
    { denoiser: 'bsa-25', steps: 25, nfe: 25, fad_judge: v(3), fd_mel: v(4.5), adherence: v(0.45) },
  ],
};

describe('chart data', () => {
  it('offers the audio figures, and the log-mel ones only when the table has them; audio FAD first', () => {
    expect(chartMetrics(table).map((m) => m.key)).toEqual([
      'audio.fad_judge', 'audio.fd_mel', 'audio.adherence', 'log_mel.fad_judge', 'log_mel.fd_mel', 'log_mel.adherence',
    ]);
    const noLogMel = { ...table, rows: table.rows.map(({ log_mel: _l, ...r }) => r) };
    expect(chartMetrics(noLogMel).map((m) => m.label)).toEqual(['FAD (judge), audio', 'FD_mel, audio', 'adherence, audio']);
    expect(chartMetrics(null)).toHaveLength(3);
  });

  it('a series per grid column, fewest steps first, only the step counts the table measured', () => {
    const [fad] = chartMetrics(table);
    const series = chartSeries(pack, table, fad!, GRID_STEPS);
    expect(series.map((s) => s.label)).toEqual(['teacher', 'bsa']); // eps has no row: nothing to draw
    expect(series[0]!.points).toEqual([
      { steps: 25, denoiser: 'teacher', mean: 4, low: 3.5, high: 4.5 },
      { steps: 200, denoiser: 'teacher', mean: 1.5, low: 1.25, high: 1.75 },
    ]);
    expect(series[1]!.points.map((p) => [p.denoiser, p.steps, p.low, p.high])).toEqual([['bsa-25', 25, 3, 3], ['bsa-50', 50, 2.375, 2.625]]);
  });

  it('reads the log-mel figures from their group; absent rows and figures are null', () => {
    const logMelFad = chartMetrics(table).find((m) => m.key === 'log_mel.fad_judge')!;
    expect(chartSeries(pack, table, logMelFad, GRID_STEPS).map((s) => s.points.map((p) => p.mean))).toEqual([[9]]);
    expect(metricValue(table.rows[1]!, logMelFad)).toBeNull();
    expect(metricValue(null, logMelFad)).toBeNull();
    expect(chartSeries(pack, null, logMelFad, GRID_STEPS)).toEqual([]);
  });

  it('a cell\'s compact figure is the chosen metric with its interval, "—" when not measured', () => {
    const [fad, , adh] = chartMetrics(table);
    expect(compactFigure(table.rows[0]!, fad!)).toBe('FAD 1.50 ± 0.25');
    expect(compactFigure(table.rows[0]!, adh!)).toBe('adh. 60% ± 5%');
    expect(compactFigure(null, fad!)).toBe('FAD —');
    expect(chartPoint(25, 'x', v(2, null))).toEqual({ steps: 25, denoiser: 'x', mean: 2, low: 2, high: 2 });
  });
});
