// The bench page <-> bench worker messages (bench.html, npm run bench:browser).

import type { PrecisionPreference } from '../runtime/graphs';
import type { BenchRow } from './bench-table';

export interface BenchRequest {
  backend: 'wasm' | 'webgpu';
  /** WASM threads (ORT's numThreads) */
  threads: number;
  /** timed runs per row, after one warm-up */
  runs: number;
  /** the teacher's step counts (default: its most) */
  teacherSteps?: number[];
  /** the pack folder's URL */
  packUrl: string;
  /** which variants to load, chosen as the app chooses (graphs.ts selectPrecision); default 'auto' */
  precision?: PrecisionPreference;
}

export type BenchReply =
  | { type: 'progress'; text: string }
  | { type: 'done'; backend: string; device: string; rows: BenchRow[]; table: string }
  /** WebGPU on a software adapter (SwiftShader) measures the CPU, not a GPU: not benched */
  | { type: 'skipped'; reason: string }
  | { type: 'error'; message: string };

/** A WebGPU adapter that is software (SwiftShader, or the browser's fallback adapter). */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean }): boolean {
  const text = [info.vendor, info.architecture, info.description].join(' ');
  return info.isFallbackAdapter === true || /swiftshader/i.test(text);
}
