// Plain tensor helpers of the pipeline: batch rows, a transpose and the output clamp.

import { InputError } from './errors';

/** The length of one row of a [batch, ...] buffer; InputError when `length` is not `batch` rows. */
export function rowLength(length: number, batch: number, name: string): number {
  if (!Number.isInteger(batch) || batch < 1 || length % batch !== 0 || length === 0) {
    throw new InputError(`${name} has ${length} values, which is not batch ${batch} rows`);
  }
  return length / batch;
}

/** (rows, cols) row-major -> (cols, rows). */
export function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  if (x.length !== rows * cols) throw new RangeError(`cannot transpose ${x.length} values as [${rows}, ${cols}]`);
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

/** Clamps every sample to [-1, 1] in place. */
export function clamp(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i]!));
  return x;
}
