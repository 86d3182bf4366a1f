import { useEffect, useMemo, useRef } from 'react';
import { chartSeries, type ChartMetric } from '../../compare/chart-data';
import type { MetricsTable } from '../../runtime/manifest';
import type { DenoiserSummary } from '../../domain/pack-summary';
import { Chart, chartConfig, readBackPlugin } from './chart-config';

/** "teacher: 4 points, bsa: 3 points": what the canvas shows, for screen readers (the table has the figures). */
function canvasLabel(metric: ChartMetric, series: ReturnType<typeof chartSeries>): string {
  const parts = series.map((s) => `${s.label}: ${s.points.length} point${s.points.length === 1 ? '' : 's'}`);
  return `Chart of ${metric.label} against sampling steps. ${parts.join('; ')}. Every figure is in the table below.`;
}

/**
 * The factory's metrics as the paper's Figure 2: the chosen score against sampling steps, a line
 * per method, whiskers for the 95% interval over the factory's runs. Chart.js draws it; the
 * chart is made again when the pack or the metric changes (a few points: cheaper than diffing).
 */
export function MetricsChart({
  denoisers,
  metrics,
  metric,
  choices,
  steps,
  onMetric,
}: {
  denoisers: readonly DenoiserSummary[];
  metrics: MetricsTable;
  metric: ChartMetric;
  choices: readonly ChartMetric[];
  steps: readonly number[];
  onMetric: (key: string) => void;
}) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const series = useMemo(() => chartSeries(denoisers, metrics, metric, steps), [denoisers, metrics, metric, steps]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const config = chartConfig(series, metric, steps);
    const chart = new Chart(canvas, { ...config, plugins: [readBackPlugin(() => metric)] });
    return () => chart.destroy();
  }, [series, metric, steps]);

  return (
    <figure className="metrics-chart" data-testid="metrics-chart" data-metric={metric.key}>
      <label className="metrics-chart-choice">
        Chart and cells show{' '}
        <select value={metric.key} onChange={(e) => onMetric(e.target.value)}>
          {choices.map((c) => (
            <option key={c.key} value={c.key}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <div className="metrics-chart-canvas" data-testid="metrics-chart-canvas">
        <canvas ref={canvasRef} role="img" aria-label={canvasLabel(metric, series)} />
      </div>
      <figcaption className="hint muted">
        Score against sampling steps per method, mean and 95% interval over {metrics.runs} runs of {metrics.judge} (as the
        paper&apos;s Figure 2).
      </figcaption>
    </figure>
  );
}
