// The factory's metrics as a chart, like the paper's Figure 2: one series per grid column (the
// teacher, each student method), a point per step count with its 95% interval. Pure functions:
// the chart component draws what `chartSeries` returns, the grid cells show the same metric.

import { gridColumns, denoiserForCell, formatMetric, hasLogMel, metricsFor } from './grid';
import type { MetricValue, MetricsRow, MetricsTable } from '../runtime/manifest';
import type { DenoiserSummary } from '../domain/pack-summary';

/** Which output a figure was measured on: the final audio, or the VAE decoder's log-mel. */
export type MeasuredOn = 'audio' | 'log_mel';
export type FigureName = 'fad_judge' | 'fd_mel' | 'adherence';

export interface ChartMetric {
  /** "<measured on>.<figure>", e.g. "audio.fad_judge" */
  key: string;
  on: MeasuredOn;
  figure: FigureName;
  /** the axis title and the option's text */
  label: string;
  /** the cell's compact figure: "FAD 55.91 ± 1.70" */
  short: string;
  lowerIsBetter: boolean;
  percent: boolean;
}

const FIGURES: ReadonlyArray<{ figure: FigureName; name: string; short: string; lowerIsBetter: boolean; percent: boolean }> = [
  { figure: 'fad_judge', name: 'FAD (judge)', short: 'FAD', lowerIsBetter: true, percent: false },
  { figure: 'fd_mel', name: 'FD_mel', short: 'FD_mel', lowerIsBetter: true, percent: false },
  { figure: 'adherence', name: 'adherence', short: 'adh.', lowerIsBetter: false, percent: true },
];

const ON_LABEL: Record<MeasuredOn, string> = { audio: 'audio', log_mel: 'log-mel' };

/**
 * The metrics the chart offers: the audio figures always, the log-mel ones when the table has
 * any. The first is the default: FAD on the audio, what the paper's Figure 2 plots.
 */
export function chartMetrics(metrics: MetricsTable | null | undefined): ChartMetric[] {
  const on: MeasuredOn[] = hasLogMel(metrics) ? ['audio', 'log_mel'] : ['audio'];
  return on.flatMap((o) =>
    FIGURES.map((f) => ({
      key: `${o}.${f.figure}`,
      on: o,
      figure: f.figure,
      label: `${f.name}, ${ON_LABEL[o]}`,
      short: f.short,
      lowerIsBetter: f.lowerIsBetter,
      percent: f.percent,
    })),
  );
}

/** A row's value of a metric, or null when the row or the figure is absent. */
export function metricValue(row: MetricsRow | null, metric: ChartMetric): MetricValue | null {
  if (!row) return null;
  const figures = metric.on === 'audio' ? row : row.log_mel;
  return figures?.[metric.figure] ?? null;
}

/** The compact figure of a cell: "FAD 55.91 ± 1.70", "FAD —" when not measured. */
export function compactFigure(row: MetricsRow | null, metric: ChartMetric): string {
  return `${metric.short} ${formatMetric(metricValue(row, metric), 2, metric.percent)}`;
}

export interface ChartPoint {
  steps: number;
  denoiser: string;
  mean: number;
  /** mean - ci95 and mean + ci95; both the mean when the row has no interval */
  low: number;
  high: number;
}

export interface ChartSeries {
  /** the grid column's key, e.g. "teacher:teacher" or "method:bsa" */
  key: string;
  label: string;
  role: 'teacher' | 'student';
  /** fewest steps first, as the x axis reads */
  points: ChartPoint[];
}

/** The point of one table value; the interval collapses onto the mean when there is none. */
export function chartPoint(steps: number, denoiser: string, v: MetricValue): ChartPoint {
  const half = v.ci95 ?? 0;
  return { steps, denoiser, mean: v.mean, low: v.mean - half, high: v.mean + half };
}

/**
 * One series per grid column with a point per step count the table measured, in the grid's
 * column order; a column without any measured point is left out (nothing to draw).
 */
export function chartSeries(
  denoisers: readonly DenoiserSummary[],
  metrics: MetricsTable | null | undefined,
  metric: ChartMetric,
  steps: readonly number[],
): ChartSeries[] {
  const series: ChartSeries[] = [];
  for (const column of gridColumns(denoisers)) {
    const points: ChartPoint[] = [];
    for (const n of [...steps].sort((a, b) => a - b)) {
      const d = denoiserForCell(denoisers, column, n);
      const v = d ? metricValue(metricsFor(metrics, d.id, n), metric) : null;
      if (d && v) points.push(chartPoint(n, d.id, v));
    }
    if (points.length > 0) series.push({ key: column.key, label: column.label, role: column.role, points });
  }
  return series;
}
