// The worker's state, shared by its router (generate.worker.ts), the pack loader
// (pack-loader.ts) and the job runner (job-runner.ts); and the one way an error becomes a reply.

import type { Backend } from '../runtime/api';
import { errorFile, errorKind, errorProblem } from '../runtime/errors';
import type { Pipeline } from '../runtime/pipeline';
import type { DeviceChoice } from './device';
import type { FileEvent } from '../runtime/pack';
import type { ErrorReply, ReadyReply, WorkerReply } from './protocol';

/** Milliseconds between two 'file' progress replies for the same file. */
const FILE_PROGRESS_INTERVAL_MS = 100;

/** The pack in use. */
export interface Loaded {
  pipeline: Pipeline;
  backend: Backend;
  packUrl: string;
  /** re-sent when a later load fails and this pack stays in use */
  device: DeviceChoice;
  ready: ReadyReply;
}

export interface WorkerContext {
  post: (reply: WorkerReply, transfer?: Transferable[]) => void;
  loaded: Loaded | null;
  /** AbortControllers of generations that are queued or running, by request id */
  readonly controllers: Map<number, AbortController>;
  /** the running generation's signal: checked after each yield, right before a network evaluation */
  activeSignal: AbortSignal | null;
  /** last denoising step finished, and that step when 'cancel' arrived, by request id */
  readonly denoiseStep: Map<number, number>;
  readonly cancelStep: Map<number, number>;
  /** why the WebGPU device of the loaded pack stopped working; null while it works (device-lost.ts) */
  deviceLost: string | null;
  /** called once when it stops working: the router queues the rebuild on WASM */
  onDeviceLost: ((reason: string) => void) | null;
  /** runs in flight, told when the device is lost (so none waits on a device that will not answer) */
  readonly lostListeners: Set<(reason: string) => void>;
}

export function createContext(post: WorkerContext['post']): WorkerContext {
  return {
    post, loaded: null, controllers: new Map(), activeSignal: null, denoiseStep: new Map(), cancelStep: new Map(),
    deviceLost: null, onDeviceLost: null, lostListeners: new Set(),
  };
}

/** The reply for error `e`: its kind, the problem in words and, apart, the pack file at fault. */
export function errorReply(
  e: unknown,
  during: ErrorReply['during'],
  rest: { id?: number; recoverable: boolean },
): ErrorReply {
  return { status: 'error', ...rest, during, kind: errorKind(e), message: errorProblem(e), file: errorFile(e) };
}

/**
 * An onFile that posts 'file' replies (for generation `id`, or the load when absent), at most one
 * per FILE_PROGRESS_INTERVAL_MS per file before its done reply, so a fast download does not flood the page.
 */
export function fileReplies(ctx: WorkerContext, id?: number): (e: FileEvent) => void {
  const lastPost = new Map<string, number>();
  return (e) => {
    const now = performance.now();
    const last = lastPost.get(e.file);
    if (!e.done && last !== undefined && now - last < FILE_PROGRESS_INTERVAL_MS) return;
    lastPost.set(e.file, now);
    ctx.post({ status: 'file', ...(id === undefined ? {} : { id }), file: e.file, loaded: e.loaded, total: e.total, done: e.done, source: e.source });
  };
}
