// Errors that say whose fault they are by a `kind`, never by the text of their message.
// A pack error names the file it concerns (MODEL_PACK.md: "refused with an error that names
// the file and the problem").
//
//   kind        meaning                                                  e.g.
//   'pack'      the pack is wrong: it would fail on any device           size mismatch, bad manifest
//   'device'    this device or runtime could not run the pack            ONNX session creation, a run
//   'input'     the request is wrong for this pack                       unknown denoiser, bad steps
//   'cancelled' the caller aborted the generation                         AbortSignal fired

export type ErrorKind = 'device' | 'pack' | 'input' | 'cancelled';
export const ERROR_KINDS: readonly ErrorKind[] = ['device', 'pack', 'input', 'cancelled'];

/** An error with a kind; `problem` is the message without a file name in front. */
export class SoundstepError extends Error {
  readonly kind: ErrorKind;
  readonly problem: string;

  constructor(kind: ErrorKind, problem: string, options?: { cause?: unknown; message?: string }) {
    super(options?.message ?? problem, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SoundstepError';
    this.kind = kind;
    this.problem = problem;
  }
}

/**
 * A problem with one pack file: `file` is the pack-relative path, e.g. 'manifest.json' or
 * 'vocoder.onnx'. Its kind is 'pack', or 'device' when the file is fine as far as the pack
 * checks go but this runtime could not create a session from it.
 */
export class PackError extends SoundstepError {
  readonly file: string;
  /** true when the file could not be fetched at all (offline, DNS, CORS): a cached copy may serve */
  readonly network: boolean;
  /** true when the server answered 404 for it */
  readonly notFound: boolean;

  constructor(
    file: string,
    problem: string,
    options?: { cause?: unknown; network?: boolean; notFound?: boolean; kind?: 'pack' | 'device' },
  ) {
    super(options?.kind ?? 'pack', problem, { cause: options?.cause, message: `${file}: ${problem}` });
    this.name = 'PackError';
    this.file = file;
    this.network = options?.network ?? false;
    this.notFound = options?.notFound ?? false;
  }
}

/** A request that does not fit the pack (unknown denoiser, steps it does not accept, bad shapes). */
export class InputError extends SoundstepError {
  constructor(problem: string) {
    super('input', problem);
    this.name = 'InputError';
  }
}

/** What a generation rejects with when its AbortSignal fires (named 'AbortError', as DOM aborts are). */
export class CancelledError extends SoundstepError {
  constructor(problem = 'The generation was aborted.') {
    super('cancelled', problem);
    this.name = 'AbortError';
  }
}

/**
 * The kind of any thrown value. An error without one (ONNX Runtime failing a run, a missing
 * WebGPU feature, a bug) counts as 'device': the pack and the request passed their checks.
 */
export function errorKind(e: unknown): ErrorKind {
  return e instanceof SoundstepError ? e.kind : 'device';
}

/** The problem in words; for a SoundstepError without the file name (a reply names it apart). */
export function errorProblem(e: unknown): string {
  if (e instanceof SoundstepError) return e.problem;
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** The pack file at fault, when there is one. */
export function errorFile(e: unknown): string | undefined {
  return e instanceof PackError ? e.file : undefined;
}
