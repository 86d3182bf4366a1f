// Errors that name the pack file they concern (MODEL_PACK.md: "refused with an error that
// names the file and the problem").

/** A model pack problem: `file` is the pack-relative path concerned, e.g. 'manifest.json' or 'vocoder.onnx'. */
export class PackError extends Error {
  readonly file: string;
  /** the problem alone, without the file name in front */
  readonly problem: string;

  /** true when the file could not be fetched at all (offline, DNS, CORS): a cached copy may serve */
  readonly network: boolean;
  /** true when the server answered 404 for it */
  readonly notFound: boolean;

  constructor(file: string, problem: string, options?: { cause?: unknown; network?: boolean; notFound?: boolean }) {
    super(`${file}: ${problem}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PackError';
    this.file = file;
    this.problem = problem;
    this.network = options?.network ?? false;
    this.notFound = options?.notFound ?? false;
  }
}

/** The error a generation rejects with when its AbortSignal fires. */
export function abortError(): DOMException {
  return new DOMException('The generation was aborted.', 'AbortError');
}

export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}
