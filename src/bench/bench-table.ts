// The benchmark table: whole generations timed stage by stage, the same code in Node (the CLI's
// `bench`, onnxruntime-node or onnxruntime-web) and in Chromium (`npm run bench:browser`).
// Browser-safe: no Node imports.

import { STAGES, type GenerateRequest, type GenerateResult, type Stage } from '../runtime/api';
import type { Manifest } from '../runtime/manifest';

/** One row of the table: a denoiser at a step count. */
export interface BenchCase {
  denoiserId: string;
  steps: number;
}

export interface BenchRow extends BenchCase {
  /** median ms of each stage over the timed runs */
  stageMs: Record<Stage, number>;
  /** median ms of a whole generation */
  totalMs: number;
  /** denoiser network evaluations (a guided step is 2) */
  nfe: number;
  /** real-time factor: compute time / audio duration */
  rtf: number;
}

/** What the bench needs of a Pipeline (so a test can pass the real one, and nothing else is required). */
export interface Generator {
  readonly manifest: Manifest;
  generate(req: GenerateRequest): Promise<GenerateResult>;
}

export interface BenchOptions {
  prompt: string;
  seed: number;
  /** timed runs per row, after one warm-up */
  runs: number;
  /** guidance scale for a teacher (default: the pack's) */
  guidanceScale?: number;
  /** called as each row is done (progress for long tables) */
  onRow?: (row: BenchRow) => void;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function totalMs(r: GenerateResult): number {
  return STAGES.reduce((sum, s) => sum + r.timings[s], 0);
}

/** The request a row runs: the teacher guided at the pack's scale unless told, a student unguided. */
export function benchRequest(m: Manifest, c: BenchCase, opts: Pick<BenchOptions, 'prompt' | 'seed' | 'guidanceScale'>): GenerateRequest {
  const d = m.denoisers.find((e) => e.id === c.denoiserId);
  if (!d) throw new RangeError(`denoiser "${c.denoiserId}" is not in this pack (it has: ${m.denoisers.map((e) => e.id).join(', ')})`);
  const packScale = d.guidance.type === 'classifier-free' ? d.guidance.default_scale : 1;
  return {
    prompt: opts.prompt,
    denoiserId: c.denoiserId,
    steps: c.steps,
    guidanceScale: d.guidance.type === 'classifier-free' ? (opts.guidanceScale ?? packScale) : 1,
    seed: opts.seed,
  };
}

/**
 * The table: the teacher at its most steps (or at `teacherSteps`) against the pack's
 * default student at its own steps (the first student without a default_denoiser).
 */
export function defaultBenchCases(m: Manifest, teacherSteps?: readonly number[]): BenchCase[] {
  const teacher = m.denoisers.find((d) => d.role === 'teacher') ?? m.denoisers[0];
  if (!teacher) throw new RangeError('the pack lists no denoisers');
  const student =
    m.denoisers.find((d) => d.id === m.default_denoiser && d.role === 'student') ?? m.denoisers.find((d) => d.role === 'student');
  const cases = (teacherSteps ?? [Math.max(...teacher.steps)]).map((steps) => ({ denoiserId: teacher.id, steps }));
  return student ? [...cases, { denoiserId: student.id, steps: student.steps[0] }] : cases;
}

/** Each case: one warm-up generation, then `runs` timed ones; medians per stage and in total. */
export async function runBench(gen: Generator, cases: readonly BenchCase[], opts: BenchOptions): Promise<BenchRow[]> {
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new RangeError(`runs must be a positive integer, got ${opts.runs}`);
  const m = gen.manifest;
  const clip = m.audio.num_samples / m.audio.sample_rate;
  const rows: BenchRow[] = [];
  for (const c of cases) {
    const req = benchRequest(m, c, opts);
    await gen.generate(req); // warm-up
    const results: GenerateResult[] = [];
    for (let i = 0; i < opts.runs; i++) results.push(await gen.generate(req));
    const total = median(results.map(totalMs));
    const row: BenchRow = {
      ...c,
      stageMs: Object.fromEntries(STAGES.map((s) => [s, median(results.map((r) => r.timings[s]))])) as Record<Stage, number>,
      totalMs: total,
      nfe: results[0]!.networkEvaluations,
      rtf: total / 1000 / clip,
    };
    opts.onRow?.(row);
    rows.push(row);
  }
  return rows;
}

export function ms(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** The table as text: one line per row, right-aligned columns, then what NFE and RTF mean. */
export function formatBenchTable(rows: readonly BenchRow[]): string {
  const header = ['denoiser', 'steps', ...STAGES, 'total', 'NFE', 'RTF'];
  const cells = rows.map((r) => [
    r.denoiserId,
    String(r.steps),
    ...STAGES.map((s) => ms(r.stageMs[s])),
    ms(r.totalMs),
    String(r.nfe),
    r.rtf.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [
    line(header),
    ...cells.map(line),
    'NFE: denoiser network evaluations (a guided step is 2); RTF: compute time / audio duration',
    ...ratioLines(rows),
  ].join('\n');
}

/** End to end: the slowest row against the fastest (teacher-200 vs student-25 in the default table). */
export function ratioLines(rows: readonly BenchRow[]): string[] {
  if (rows.length < 2) return [];
  const slow = rows.reduce((a, b) => (b.totalMs > a.totalMs ? b : a));
  const fast = rows.reduce((a, b) => (b.totalMs < a.totalMs ? b : a));
  const ratio = slow.totalMs / fast.totalMs;
  return [
    `end to end: ${slow.denoiserId}-${slow.steps} takes ${ratio.toFixed(1)}x the time of ${fast.denoiserId}-${fast.steps} ` +
      `(network evaluations ${slow.nfe} vs ${fast.nfe}: ${(slow.nfe / fast.nfe).toFixed(1)}x)`,
  ];
}
