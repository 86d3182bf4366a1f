import { useMemo, useState } from 'react';
import {
  denoiserForCell,
  earlierTeacherNote,
  figuresPrecisionNote,
  fillPlan,
  gridColumns,
  gridSteps,
  hasLogMel,
  readingOrder,
  type GridCellSpec,
} from '../../compare/grid';
import { chartMetrics } from '../../compare/chart-data';
import type { MetricsTable } from '../../runtime/manifest';
import {
  selectGenerateBlocker,
  selectGrid,
  selectJob,
  selectManifest,
  selectOnDemand,
  selectPrecision,
  selectProgressText,
  selectRun,
  useStore,
} from '../../store';
import { formatBytes } from '../PackStatus/pack-url';
import { MetricsChart } from '../MetricsChart';
import { AbTest } from './AbTest';
import { Cell } from './Cell';
import { FiguresTable } from './FiguresTable';
import { GridProgress } from './GridProgress';
import { usePlayer } from './player';
import './compare-figures.css';

export type { Player } from './player';

/** The line under the grid: where the figures come from and how to read them. */
function metricsNote(metrics: MetricsTable | null): string {
  const reading = 'FAD (judge embeddings) and FD_mel: lower is better; adherence: higher is better.';
  if (!metrics) return `Metrics: — (this pack has no evaluation table yet). ${reading}`;
  const groups = hasLogMel(metrics)
    ? ' “log-mel”: measured on the VAE decoder’s log-mel before the vocoder; “audio”: on the final audio, which includes the vocoder’s error.'
    : '';
  return `Metrics from the factory: ${metrics.judge}, mean ± 95% interval over ${metrics.runs} runs. ${reading}${groups}`;
}

/**
 * The comparison panel: rows 200/100/50/25 steps (and the pack's students below 25), columns the teacher and each student method.
 * One button fills every cell for the form's prompt and seed (cheapest first), a cell plays
 * and downloads its sound and shows time, NFE and one figure of the factory's table; the chart
 * plots that figure against steps per method, every figure is one click away (a disclosure), and
 * a blind A/B test compares two filled cells.
 */
export function ComparisonPanel({ onFill, onCancel }: { onFill: () => void; onCancel: () => void }) {
  const manifest = useStore(selectManifest);
  const precisionNote = figuresPrecisionNote(useStore(selectPrecision));
  const grid = useStore(selectGrid);
  const gridFor = useStore((s) => s.gridFor);
  const job = useStore(selectJob);
  const run = useStore(selectRun);
  const blocker = useStore(selectGenerateBlocker);
  const progress = useStore(selectProgressText);
  const { player, audioRef } = usePlayer();
  const [metricKey, setMetricKey] = useState<string | null>(null);

  const denoisers = manifest?.denoisers;
  const metrics = manifest?.metrics ?? null;
  const columns = useMemo(() => (denoisers ? gridColumns(denoisers) : []), [denoisers]);
  const earlierNote = useMemo(() => (denoisers ? earlierTeacherNote(denoisers) : null), [denoisers]);
  const rows = useMemo(() => (denoisers ? gridSteps(denoisers) : []), [denoisers]);
  const plan: GridCellSpec[] = useMemo(() => (denoisers ? fillPlan(denoisers) : []), [denoisers]);
  const choices = useMemo(() => chartMetrics(metrics), [metrics]);
  // the chosen metric, or the first (audio FAD) when none is chosen or the pack lacks the chosen one
  const metric = choices.find((c) => c.key === metricKey) ?? choices[0]!;
  const totalNfe = plan.reduce((a, c) => a + c.nfe, 0);
  // the grid's denoisers that are not downloaded yet: filling it downloads them first
  const onDemand = useStore(selectOnDemand);
  const toDownload = [...new Set(plan.map((c) => c.denoiserId))].reduce((n, id) => n + (onDemand[id] ?? 0), 0);
  const filling = job?.kind === 'grid';
  const runningCell = filling ? job.items[job.index]?.cell : undefined;
  const runningText =
    run && run.stage === 'denoise' && run.step !== null && run.totalSteps ? `step ${run.step} of ${run.totalSteps}` : (run?.stage ?? null);

  return (
    <section className="card compare" aria-labelledby="compare-heading">
      <h2 id="compare-heading">Compare steps and methods</h2>
      {!manifest ? (
        <p className="muted">The grid appears when the model pack is loaded.</p>
      ) : (
        <>
          <p className="hint muted">
            One sound per cell for the prompt and seed above ({plan.length} cells, {totalNfe} network evaluations in all,
            cheapest first). Students have guidance folded in: 1 evaluation per step; the teacher 2.
            {toDownload > 0 && <span data-testid="grid-download"> Filling it first downloads the models not downloaded yet ({formatBytes(toDownload)}).</span>}
          </p>
          <div className="actions">
            <button type="button" className="primary" onClick={onFill} disabled={blocker !== null} aria-describedby="grid-reason">
              Fill the grid
            </button>
            {filling && (
              <button type="button" onClick={onCancel} disabled={run?.status === 'cancelling'}>
                Cancel filling
              </button>
            )}
            <p id="grid-reason" className="reason">
              {filling ? '' : (blocker ?? '')}
            </p>
          </div>
          <GridProgress />
          {gridFor && (
            <p className="grid-for" data-testid="grid-for">
              Grid for “{gridFor.prompt}” · seed {gridFor.seed} · teacher guidance {gridFor.guidanceScale}
            </p>
          )}
          <div className="table-scroll" role="region" aria-label="Comparison grid (scrolls sideways)" tabIndex={0}>
            <table className="grid" data-testid="grid">
              <caption className="visually-hidden">
                Rows are step counts, columns the teacher and each distillation method; each cell shows its cost and the
                factory&apos;s {metric.label}
                {filling && progress ? `; now filling ${progress}` : ''}.
              </caption>
              <thead>
                <tr>
                  <th scope="col">Steps</th>
                  {columns.map((c) => (
                    <th scope="col" key={c.key} data-testid={`column-${c.label}`}>
                      {c.label}
                      <span className="muted role"> {c.role}</span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((n) => (
                  <tr key={n}>
                    <th scope="row">{n}</th>
                    {columns.map((c) => {
                      const d = denoiserForCell(manifest.denoisers, c, n);
                      const key = d ? `${d.id}@${n}` : '';
                      return (
                        <Cell
                          key={c.key}
                          column={c}
                          steps={n}
                          denoiser={d}
                          state={d ? grid[key] : undefined}
                          running={key === runningCell ? runningText : null}
                          metrics={metrics}
                          metric={metric}
                          player={player}
                        />
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="hint muted" data-testid="metrics-note">
            {metricsNote(metrics)}
          </p>
          {metrics && precisionNote && (
            <p className="hint muted" data-testid="figures-precision">
              {precisionNote}
            </p>
          )}
          {earlierNote && (
            <p className="hint muted" data-testid="earlier-teacher-note">
              {earlierNote}
            </p>
          )}
          {metrics && (
            <>
              <MetricsChart
                denoisers={manifest.denoisers}
                metrics={metrics}
                metric={metric}
                choices={choices}
                steps={rows}
                onMetric={setMetricKey}
              />
              <FiguresTable metrics={metrics} cells={readingOrder(plan, columns)} />
            </>
          )}
          <AbTest plan={plan} grid={grid} player={player} />
        </>
      )}
      <audio ref={audioRef} data-testid="grid-player" onEnded={() => player.playing && player.toggle(player.playing, '')} hidden />
    </section>
  );
}
