// ONNX Runtime's profiler output (a Chrome trace: a JSON array of events) summed per operator.
// Pure functions: the CLI's `profile` command reads the file ORT writes and prints this.

/** One event of ORT's profile as we read it (other fields are ignored). */
interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

/** The time one operator type took over the profiled runs. */
export interface OpTime {
  op: string;
  /** kernel executions over all runs */
  calls: number;
  /** microseconds, summed over all runs */
  totalUs: number;
}

/**
 * Per-operator kernel time: ORT writes one 'Node' event per kernel execution, named
 * '<node>_kernel_time' (besides '_fence_before'/'_fence_after' events, which are not compute),
 * with the operator type in args.op_name. Sorted by time, largest first.
 */
export function opTimes(trace: unknown): OpTime[] {
  if (!Array.isArray(trace)) throw new TypeError('an ONNX Runtime profile is a JSON array of events');
  const byOp = new Map<string, OpTime>();
  for (const e of trace as TraceEvent[]) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || typeof e.dur !== 'number') continue;
    const op = e.args?.op_name ?? '?';
    const t = byOp.get(op) ?? { op, calls: 0, totalUs: 0 };
    t.calls += 1;
    t.totalUs += e.dur;
    byOp.set(op, t);
  }
  return [...byOp.values()].sort((a, b) => b.totalUs - a.totalUs);
}

/** Wall time of each profiled run ('Session' events named 'model_run'), microseconds. */
export function runTimes(trace: unknown): number[] {
  if (!Array.isArray(trace)) throw new TypeError('an ONNX Runtime profile is a JSON array of events');
  return (trace as TraceEvent[])
    .filter((e) => e.cat === 'Session' && e.name === 'model_run' && typeof e.dur === 'number')
    .map((e) => e.dur!);
}

/** The summary one graph's table prints: per-evaluation figures over `runs` runs. */
export interface OpSummary {
  /** kernel time per evaluation, every operator (ms) */
  kernelMs: number;
  /** kernel executions per evaluation */
  kernelsPerRun: number;
  /** the top operators: share of the kernel time, ms per evaluation, kernels per evaluation */
  top: Array<{ op: string; share: number; ms: number; calls: number }>;
}

export function summarize(ops: readonly OpTime[], runs: number, topN = 8): OpSummary {
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`runs must be a positive integer, got ${runs}`);
  const totalUs = ops.reduce((s, o) => s + o.totalUs, 0);
  return {
    kernelMs: totalUs / runs / 1000,
    kernelsPerRun: ops.reduce((s, o) => s + o.calls, 0) / runs,
    top: ops.slice(0, topN).map((o) => ({
      op: o.op,
      share: totalUs > 0 ? o.totalUs / totalUs : 0,
      ms: o.totalUs / runs / 1000,
      calls: o.calls / runs,
    })),
  };
}
