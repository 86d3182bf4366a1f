// The comparison grid as data: rows are step counts (the paper's 200, 100, 50, 25, then any the
// pack's students go below that: 5, 1 for rounds past the paper), columns the teacher and each
// student method of the pack. A student method fills only the rows it has students for; the
// other cells are "not distilled". Pure functions: the panel and the store call them.

import { nfeCost } from '../engine/cost';
import { offersSteps } from '../engine/steps';
import type { PrecisionChoice } from '../runtime/graphs';
import type { EarsFigures, MetricValue, MetricsRow, MetricsTable } from '../runtime/manifest';
import type { DenoiserSummary } from '../domain/pack-summary';

/** The paper's rows, most steps first (its Table 1). */
export const GRID_STEPS: readonly number[] = [200, 100, 50, 25];

/** The grid's rows for a pack: GRID_STEPS, then the students' step counts below them (distillation past 25 steps), most first. */
export function gridSteps(denoisers: readonly DenoiserSummary[]): number[] {
  const fewest = Math.min(...GRID_STEPS);
  const beyond = denoisers.flatMap((d) => (d.role === 'student' ? d.steps.filter((n) => n < fewest) : []));
  return [...GRID_STEPS, ...[...new Set(beyond)].sort((a, b) => b - a)];
}

export interface GridColumn {
  /** 'teacher:<id>' or 'method:<method>' */
  key: string;
  /** column heading, e.g. "teacher" or "bsa" */
  label: string;
  role: 'teacher' | 'student';
}

/** One fillable cell: a denoiser at a step count. */
export interface GridCellSpec {
  /** cellKey(denoiserId, steps) */
  key: string;
  column: string;
  denoiserId: string;
  steps: number;
  nfe: number;
  /** e.g. "teacher · 100 steps" or "bsa · 25 steps" */
  label: string;
}

/** Key of a cell (and of its metrics row): "<denoiser id>@<steps>". */
export const cellKey = (denoiserId: string, steps: number): string => `${denoiserId}@${steps}`;

/** Teacher columns first (one per teacher), then one per student method in manifest order. */
export function gridColumns(denoisers: readonly DenoiserSummary[]): GridColumn[] {
  const cols: GridColumn[] = denoisers
    .filter((d) => d.role === 'teacher')
    .map((d, _i, all) => ({ key: `teacher:${d.id}`, label: all.length > 1 ? d.id : 'teacher', role: 'teacher' as const }));
  for (const d of denoisers) {
    if (d.role !== 'student') continue;
    const method = d.method ?? d.id;
    if (!cols.some((c) => c.key === `method:${method}`)) cols.push({ key: `method:${method}`, label: method, role: 'student' });
  }
  return cols;
}

/**
 * A sentence for the grid when some students were distilled from an earlier teacher than the one
 * in the teacher column (their cells compare with a teacher they did not learn from); null when none.
 */
export function earlierTeacherNote(denoisers: readonly DenoiserSummary[]): string | null {
  const ids = denoisers.filter((d) => d.earlierTeacher).map((d) => d.id);
  if (ids.length === 0) return null;
  return (
    `${ids.join(', ')} ${ids.length === 1 ? 'was' : 'were'} distilled from an earlier teacher than this pack's: ` +
    'the teacher was trained further after them, and they have not been distilled from it again yet.'
  );
}

/** The denoiser that fills (column, steps), or null: "not distilled" (or a teacher not offered at N). */
export function denoiserForCell(denoisers: readonly DenoiserSummary[], column: GridColumn, steps: number): DenoiserSummary | null {
  const found = denoisers.find((d) => {
    if (!offersSteps(d, steps)) return false;
    if (column.role === 'teacher') return d.role === 'teacher' && column.key === `teacher:${d.id}`;
    return d.role === 'student' && column.key === `method:${d.method ?? d.id}`;
  });
  return found ?? null;
}

/** Every fillable cell, in the order the grid fills them: cheapest first (NFE), then by column. */
export function fillPlan(denoisers: readonly DenoiserSummary[], steps: readonly number[] = gridSteps(denoisers)): GridCellSpec[] {
  const cols = gridColumns(denoisers);
  const cells: Array<GridCellSpec & { col: number }> = [];
  cols.forEach((column, col) => {
    for (const n of steps) {
      const d = denoiserForCell(denoisers, column, n);
      if (!d) continue;
      cells.push({
        key: cellKey(d.id, n),
        column: column.key,
        denoiserId: d.id,
        steps: n,
        nfe: nfeCost(d, n),
        label: `${column.label} · ${n} steps`,
        col,
      });
    }
  });
  cells.sort((a, b) => a.nfe - b.nfe || a.col - b.col || a.steps - b.steps);
  return cells.map(({ col: _col, ...c }) => c);
}

/** The factory's row for a cell, or null when the table or the row is absent. */
export function metricsFor(metrics: MetricsTable | null | undefined, denoiserId: string, steps: number): MetricsRow | null {
  return metrics?.rows.find((r) => r.denoiser === denoiserId && r.steps === steps) ?? null;
}

/**
 * Whether any row of the table has log-mel figures. The grid then shows a log-mel group in
 * every cell ("—" where a row lacks it), so the cells line up and a gap reads as a gap;
 * a pack that measured none keeps the audio figures alone.
 */
export function hasLogMel(metrics: MetricsTable | null | undefined): boolean {
  return metrics?.rows.some((r) => r.log_mel !== undefined) ?? false;
}

/** "1.23 ± 0.08", "1.23" without an interval, "—" when absent; `percent` shows fractions as %. */
export function formatMetric(v: MetricValue | null | undefined, digits = 2, percent = false): string {
  if (!v) return '—';
  const k = percent ? 100 : 1;
  const unit = percent ? '%' : '';
  const d = percent ? Math.max(0, digits - 2) : digits;
  const mean = `${(v.mean * k).toFixed(d)}${unit}`;
  return v.ci95 === null ? mean : `${mean} ± ${(v.ci95 * k).toFixed(d)}${unit}`;
}

/** A share in 0..1 as a whole percentage; "—" when not measured. */
export function formatShare(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${Math.round(v * 100)}%`;
}

/** The prompt set whose ears figures a cell shows: the free-form prompts (what people type) when measured. */
export function earsFor(row: MetricsRow | null): { set: 'free-form' | 'test'; figures: EarsFigures } | null {
  if (row?.ears?.free_form) return { set: 'free-form', figures: row.ears.free_form };
  if (row?.ears?.test) return { set: 'test', figures: row.ears.test };
  return null;
}

// ---------------------------------------------------------------------------------------
// Blind A/B
// ---------------------------------------------------------------------------------------

export type AbChoice = 'A' | 'B' | 'tie';

export interface AbTally {
  rounds: number;
  /** rounds answered "can't tell" */
  ties: number;
  /** preferred count per cell key */
  wins: Record<string, number>;
  /** rounds each cell key took part in */
  played: Record<string, number>;
}

export const emptyTally = (): AbTally => ({ rounds: 0, ties: 0, wins: {}, played: {} });

/** [A, B]: the two cells in random order (random() < 0.5 keeps the given order). */
export function assignAB(first: string, second: string, random: () => number = Math.random): [string, string] {
  if (first === second) throw new Error('an A/B round needs two different cells');
  return random() < 0.5 ? [first, second] : [second, first];
}

/** Two different keys drawn at random from `keys` (at least two). */
export function randomPair(keys: readonly string[], random: () => number = Math.random): [string, string] {
  if (keys.length < 2) throw new Error('fill at least two cells of the grid first');
  const i = Math.min(keys.length - 1, Math.floor(random() * keys.length));
  let j = Math.min(keys.length - 2, Math.floor(random() * (keys.length - 1)));
  if (j >= i) j += 1;
  return [keys[i]!, keys[j]!];
}

/** The tally after one answered round; `order` is [A, B]. */
export function addToTally(t: AbTally, order: readonly [string, string], choice: AbChoice): AbTally {
  const wins = { ...t.wins };
  const played = { ...t.played };
  for (const k of order) played[k] = (played[k] ?? 0) + 1;
  if (choice !== 'tie') {
    const winner = choice === 'A' ? order[0] : order[1];
    wins[winner] = (wins[winner] ?? 0) + 1;
  }
  return { rounds: t.rounds + 1, ties: t.ties + (choice === 'tie' ? 1 : 0), wins, played };
}

/**
 * Whose figures the table shows, when this device runs other weights: the factory measures the
 * float32 graphs, and a float16 or int8 variant makes slightly different clips. null on float32.
 */
export function figuresPrecisionNote(precision: PrecisionChoice | null): string | null {
  if (!precision || precision.dtype === 'float32') return null;
  return `The factory measured these figures on the float32 graphs. This device runs ${precision.reason}, so its clips differ slightly from the measured ones.`;
}

/** The cells as the grid reads: column by column, most steps first in each (the figures table's rows). */
export function readingOrder(cells: readonly GridCellSpec[], columns: readonly GridColumn[]): GridCellSpec[] {
  const col = (c: GridCellSpec) => columns.findIndex((k) => k.key === c.column);
  return [...cells].sort((a, b) => col(a) - col(b) || b.steps - a.steps);
}
