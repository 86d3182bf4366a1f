// Errors that name the pack file they concern (MODEL_PACK.md: "refused with an error that
// names the file and the problem").

/** A model pack problem: `file` is the pack-relative path concerned, e.g. 'manifest.json' or 'vocoder.onnx'. */
export class PackError extends Error {
  readonly file: string;
  /** the problem alone, without the file name in front */
  readonly problem: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.name = 'PackError';
    this.file = file;
    this.problem = problem;
  }
}

/** The error a generation rejects with when its AbortSignal fires. */
export function abortError(): DOMException {
  return new DOMException('The generation was aborted.', 'AbortError');
}

export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}
