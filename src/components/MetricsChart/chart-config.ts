// Chart.js (with chartjs-chart-error-bars) set up for the metrics chart: the configuration made
// from chartSeries, and the read-back of what was drawn, which the chart writes on its figure so
// a test can check the plotted points against the factory's table.

import {
  Chart,
  Legend,
  LineElement,
  LinearScale,
  LogarithmicScale,
  Tooltip,
  type ChartConfiguration,
  type Plugin,
} from 'chart.js';
import { PointWithErrorBar, ScatterWithErrorBarsController, type IErrorBarXYDataPoint } from 'chartjs-chart-error-bars';
import type { ChartMetric, ChartSeries } from '../../compare/chart-data';

// Registered once: tree-shaken Chart.js ships only the controller, elements and scales used here.
Chart.register(ScatterWithErrorBarsController, PointWithErrorBar, LineElement, LinearScale, LogarithmicScale, Legend, Tooltip);

// Okabe-Ito: told apart by people with any common colour-vision deficiency; the teacher in black.
const TEACHER_COLOUR = '#555555';
const STUDENT_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442'];

export type MetricsChartConfig = ChartConfiguration<'scatterWithErrorBars', IErrorBarXYDataPoint[]>;

/** The series colour: the teacher grey, students in palette order. */
export function seriesColour(series: readonly ChartSeries[], index: number): string {
  if (series[index]?.role === 'teacher') return TEACHER_COLOUR;
  const studentIndex = series.slice(0, index).filter((s) => s.role === 'student').length;
  return STUDENT_COLOURS[studentIndex % STUDENT_COLOURS.length]!;
}

/** The y axis title: the metric and which way is better. */
export const yTitle = (metric: ChartMetric): string => `${metric.label} (${metric.lowerIsBetter ? 'lower' : 'higher'} is better)`;

/**
 * The x factor that sets the `i`th of `n` series with a point at the same step count a little
 * beside the others: at 25 steps every method has a point, and without it their whiskers hide
 * each other (a point alone at its step stays on it). 4% apart on the log axis is far less than
 * the step counts' 2x spacing, so a point is still read at its step.
 */
export const dodge = (i: number, n: number): number => 1.04 ** (i - (n - 1) / 2);

/** The step count of `x` read off the axis: the nearest of `steps` (undoes dodge). */
export function nearestStep(x: number, steps: readonly number[]): number {
  return steps.reduce((best, s) => (Math.abs(Math.log(s / x)) < Math.abs(Math.log(best / x)) ? s : best), steps[0] ?? x);
}

/**
 * Score against steps: the x axis logarithmic (25, 50, 100, 200 equally spaced, as each
 * distillation round halves the steps), a line through each method's points, whiskers for the
 * 95% interval. No animation: the chart shows the figures at once and the read-back is final.
 */
export function chartConfig(series: readonly ChartSeries[], metric: ChartMetric, steps: readonly number[]): MetricsChartConfig {
  const scale = metric.percent ? 100 : 1;
  return {
    type: 'scatterWithErrorBars',
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.points.map((p) => {
          const sharing = series.filter((other) => other.points.some((q) => q.steps === p.steps));
          const x = p.steps * dodge(sharing.indexOf(s), sharing.length);
          return { x, xMin: x, xMax: x, y: p.mean * scale, yMin: p.low * scale, yMax: p.high * scale };
        }),
        showLine: true,
        borderColor: seriesColour(series, i),
        backgroundColor: seriesColour(series, i),
        borderDash: s.role === 'teacher' ? [6, 4] : [],
        errorBarColor: seriesColour(series, i),
        errorBarWhiskerColor: seriesColour(series, i),
        pointRadius: 4,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: {
          type: 'logarithmic',
          min: Math.min(...steps) / 1.25,
          max: Math.max(...steps) * 1.25,
          title: { display: true, text: 'sampling steps' },
          afterBuildTicks: (axis) => {
            axis.ticks = [...steps].sort((a, b) => a - b).map((value) => ({ value }));
          },
          // every step count labelled: the log scale's own formatter labels only 1, 2 and 5 times a
          // power of ten, which left 25 (the point of the product) without a label
          ticks: { callback: (value) => String(value) },
        },
        y: { type: 'linear', title: { display: true, text: yTitle(metric) } },
      },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, usePointStyle: true } } },
    },
  };
}

export interface PlottedPoint {
  steps: number;
  mean: number;
  low: number;
  high: number;
}

export interface PlottedSeries {
  label: string;
  points: PlottedPoint[];
}

interface DrawnPoint {
  x: number;
  y: number;
  yMin: number | null;
  yMax: number | null;
}

/**
 * What the chart drew, read back from the pixels of its points and whiskers through its own
 * scales, in the table's units (fractions, not percent); a point's steps are the axis tick it
 * stands beside (the series are dodged a little apart).
 */
export function readBack(chart: Chart, metric: ChartMetric): PlottedSeries[] {
  const { x, y } = chart.scales;
  if (!x || !y) return [];
  const scale = metric.percent ? 100 : 1;
  const value = (px: number | null, fallback: number) => (px === null ? fallback : y.getValueForPixel(px)! / scale);
  const ticks = x.ticks.map((t) => t.value);
  return chart.data.datasets.map((dataset, i) => ({
    label: dataset.label ?? '',
    points: chart.getDatasetMeta(i).data.map((element) => {
      const drawn = element as unknown as DrawnPoint;
      const mean = y.getValueForPixel(drawn.y)! / scale;
      return { steps: nearestStep(x.getValueForPixel(drawn.x)!, ticks), mean, low: value(drawn.yMin, mean), high: value(drawn.yMax, mean) };
    }),
  }));
}

/** A plugin that writes the read-back on the canvas's parent element after every draw (data-plotted, and the x axis's labels as data-x-ticks). */
export function readBackPlugin(metric: () => ChartMetric): Plugin<'scatterWithErrorBars'> {
  return {
    id: 'soundstepReadBack',
    afterRender(chart) {
      const holder = chart.canvas.parentElement;
      if (!holder) return;
      holder.dataset.plotted = JSON.stringify(readBack(chart, metric()));
      holder.dataset.xTicks = (chart.scales.x?.ticks ?? []).map((t) => String(t.label)).join(' ');
    },
  };
}

export { Chart };
