import { metricsFor, type GridColumn } from '../../compare/grid';
import { compactFigure, type ChartMetric } from '../../compare/chart-data';
import { nfeCost } from '../../engine/cost';
import type { MetricsTable } from '../../runtime/manifest';
import type { GridCellState } from '../../store';
import type { DenoiserSummary } from '../../domain/pack-summary';
import { fmtSeconds } from '../Result/format';
import { SoundPictures } from '../SoundPictures';
import type { Player } from './player';

/**
 * One cell of the grid: its cost, its sound (play, download, a small spectrogram) once filled,
 * and one figure of the factory's table, the metric the chart shows (the rest: the table).
 */
export function Cell({
  column,
  steps,
  denoiser,
  state,
  running,
  metrics,
  metric,
  player,
}: {
  column: GridColumn;
  steps: number;
  denoiser: DenoiserSummary | null;
  state: GridCellState | undefined;
  running: string | null;
  metrics: MetricsTable | null;
  metric: ChartMetric;
  player: Player;
}) {
  if (!denoiser) {
    return (
      <td className="cell na" data-testid={`cell-${column.label}@${steps}`} data-status="not-distilled">
        <span className="muted">{column.role === 'teacher' ? 'not offered' : 'not distilled'}</span>
      </td>
    );
  }
  const key = `${denoiser.id}@${steps}`;
  const label = `${column.label}, ${steps} steps`;
  const status = state?.status ?? 'empty';
  const result = state?.result ?? null;
  return (
    <td className={`cell ${status}`} data-testid={`cell-${key}`} data-status={status} aria-busy={status === 'running'}>
      <div className="cell-head">
        <span className="muted">{nfeCost(denoiser, steps)} NFE</span>
        {status === 'queued' && <span className="muted">waiting</span>}
        {status === 'running' && <span className="cell-running">{running ?? 'starting'}</span>}
        {status === 'failed' && <span className="error-text">failed</span>}
      </div>
      {result && (
        <>
          <p className="cell-cost" data-testid="cell-cost">
            {fmtSeconds(result.totalMs)} · {result.networkEvaluations} NFE
          </p>
          <div className="cell-actions">
            <button
              type="button"
              className="secondary"
              aria-pressed={player.playing === key}
              aria-label={`${player.playing === key ? 'Stop' : 'Play'} ${label}`}
              onClick={() => player.toggle(key, result.url)}
            >
              {player.playing === key ? '■ Stop' : '▶ Play'}
            </button>
            <a className="button secondary-link" href={result.url} download={result.fileName} aria-label={`Download ${label}`}>
              ⤓ WAV
            </a>
          </div>
          <SoundPictures wav={result.wav} mel={result.mel} label={label} compact />
        </>
      )}
      <p className="cell-figure" data-testid="cell-figure" title={`${metric.label}: mean ± 95% interval from the factory’s table`}>
        {compactFigure(metricsFor(metrics, denoiser.id, steps), metric)}
      </p>
    </td>
  );
}
