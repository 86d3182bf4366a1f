import { earsFor, formatMetric, formatShare, hasLogMel, metricsFor, type GridCellSpec } from '../../compare/grid';
import type { MetricFigures, MetricsRow, MetricsTable } from '../../runtime/manifest';

// Tooltips of the groups of figures: what each was measured on, and why both.
const LOG_MEL_TITLE =
  'Measured on the VAE decoder’s log-mel, before the vocoder: free of the vocoder’s error, so these tell the denoisers apart.';
const AUDIO_TITLE = 'Measured on the final audio, after the vocoder: includes the vocoder’s error.';
const EARS_TITLE =
  'Heard by pretrained models nobody here trained (silero-vad for speech, torchcrepe for pitch), on the free-form prompts people type when measured, else on the test prompts. speech: clips with speech when the prompt names speech / when it does not; quiet: clips of known sounds below -35 dBFS; pitch: high/low prompt pairs in order.';

/** FAD, FD_mel and adherence of one kind of output, "—" for each one not measured. */
export const figureTexts = (f: MetricFigures | undefined): string[] => [
  formatMetric(f?.fad_judge),
  formatMetric(f?.fd_mel),
  formatMetric(f?.adherence, 2, true),
];

/** speech (named / not named), quiet and pitch order by the independent ears, "—" when not heard. */
export function earsTexts(row: MetricsRow | null): string[] {
  const ears = earsFor(row)?.figures;
  if (!ears) return ['—', '—', '—'];
  return [`${formatShare(ears.speech_when_named)} / ${formatShare(ears.speech_when_not)}`, formatShare(ears.quiet), formatShare(ears.pairs_ordered)];
}

/** Whether any row has figures from the independent ears (their three columns appear then). */
const hasEars = (metrics: MetricsTable): boolean => metrics.rows.some((r) => earsFor(r) !== null);

interface Group {
  name: string;
  title: string;
  heads: string[];
  cells: (row: MetricsRow | null) => string[];
}

function groups(metrics: MetricsTable): Group[] {
  const figureHeads = ['FAD', 'FD_mel', 'adh.'];
  const out: Group[] = [];
  if (hasLogMel(metrics)) out.push({ name: 'log-mel', title: LOG_MEL_TITLE, heads: figureHeads, cells: (r) => figureTexts(r?.log_mel) });
  out.push({ name: 'audio', title: AUDIO_TITLE, heads: figureHeads, cells: (r) => figureTexts(r ?? undefined) });
  if (hasEars(metrics)) {
    const set = metrics.rows.some((r) => r.ears?.free_form) ? 'free-form' : 'test';
    out.push({ name: `ears (${set})`, title: EARS_TITLE, heads: ['speech', 'quiet', 'pitch'], cells: earsTexts });
  }
  return out;
}

/**
 * Every figure of the factory's table, one row per grid cell in the grid's reading order, behind
 * a disclosure (<details>: a button to keyboards and screen readers, closed at first so the
 * cells' single figure and the chart are what one sees).
 */
export function FiguresTable({ metrics, cells }: { metrics: MetricsTable; cells: readonly GridCellSpec[] }) {
  const gs = groups(metrics);
  return (
    <details className="figures" data-testid="figures-disclosure">
      <summary>Every figure of the factory&apos;s table</summary>
      <div className="table-scroll" role="region" aria-label="The factory’s figures (scrolls sideways)" tabIndex={0}>
        <table className="figures-table" data-testid="figures-table">
          <caption className="visually-hidden">The factory&apos;s figures for each cell of the grid</caption>
          <thead>
            <tr>
              <td />
              {gs.map((g) => (
                <th key={g.name} scope="colgroup" colSpan={g.heads.length} title={g.title} className="metric-group-name">
                  {g.name}
                </th>
              ))}
            </tr>
            <tr>
              <th scope="col">Cell</th>
              {gs.flatMap((g) =>
                g.heads.map((h) => (
                  <th scope="col" key={`${g.name}-${h}`}>
                    {h}
                  </th>
                )),
              )}
            </tr>
          </thead>
          <tbody>
            {cells.map((c) => {
              const row = metricsFor(metrics, c.denoiserId, c.steps);
              return (
                <tr key={c.key} data-testid={`figures-${c.key}`}>
                  <th scope="row">{c.label}</th>
                  {gs.flatMap((g) => g.cells(row).map((text, i) => <td key={`${g.name}-${i}`}>{text}</td>))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </details>
  );
}
