// The page's side of the worker protocol: sends requests, routes every reply to a store action.
// Created once (main.tsx); React components call its methods and read the store.
//
// Jobs: Generate runs a 'variations' job (seeds seed, seed + 1, ...), the comparison panel a
// 'grid' job (one request per cell). The client sends one request of a job at a time and the
// next when the worker answers 'done', so Cancel stops the running one within a denoising step
// and nothing else of the job starts. Results of a 'variations' job go to the results list and
// to the browser's history (IndexedDB, src/history/); grid cells stay in the page.

import type { Backend, GenerateRequest, LatentEdit } from '../runtime/api';
import { SoundstepError } from '../runtime/errors';
import type { History } from '../history';
import { selectDenoiser, selectGenerateBlocker, useStore, type GenerationResult, type JobItem, type JobState } from '../store';
import { gridItems, jobStopReason, randomSeed, retryOf, variationItems } from './client-jobs';
import { createReadingClient } from './client-reading';
import { fromRecord, gridResults, resultFromDone, revokeUnused as revokeUnusedIn, toRecord } from './client-results';
import type { BackendPreference, DenoiseOnceRequest, DoneReply, WorkerReply, WorkerRequest } from './protocol';

export { slugify, wavFileName } from '../engine/filename';
export { randomSeed, variationItems } from './client-jobs';

/** The parts of a Worker we use (a fake can stand in for tests). */
export interface WorkerLike {
  postMessage(message: WorkerRequest, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerReply>) => void): void;
  addEventListener(type: 'error', listener: (e: ErrorEvent) => void): void;
  terminate(): void;
}

export type DenoiseOnceInput = Omit<DenoiseOnceRequest, 'type' | 'id'>;
export interface DenoiseOnceOutput {
  output: Float32Array;
  hidden: Float32Array;
  backend: Backend;
  ms: number;
}

export interface SoundstepClient {
  /** (re)load a pack; defaults to the store's pack URL and backend preference */
  load(packUrl?: string, backend?: BackendPreference): void;
  /** stop the pack load in progress: its downloads abort, it ends with an error of kind 'cancelled' */
  cancelLoad(): void;
  /**
   * start the form's variations job; returns the first run's id, or null when blocked. With an
   * `edit` every variation regenerates a range of a result (inpainting) or starts from a sound
   * (audio-to-audio) instead of from noise alone.
   */
  generate(edit?: LatentEdit): number | null;
  /** fill the comparison grid for the form's prompt and seed; the first run's id, or null when blocked */
  fillGrid(): number | null;
  /** stop the running request within a denoising step and drop the rest of its job */
  cancel(): void;
  /** run the interrupted job again from the request that was interrupted (AppError.retry); its first id, or null */
  retry(): number | null;
  /** restore the results kept in this browser, and keep new ones there */
  attachHistory(history: History): Promise<void>;
  deleteResult(key: string): Promise<void>;
  clearResults(): Promise<void>;
  denoiseOnce(input: DenoiseOnceInput): Promise<DenoiseOnceOutput>;
  /** how close the prompt is to what pack `pack` (a key of the pack in use) knows, once typing pauses (client-reading.ts) */
  readPrompt(prompt: string, pack: string): void;
  dispose(): void;
}

export interface ClientOptions {
  /** [0, 1) source for random seeds and keys (tests pass a fixed one) */
  random?: () => number;
  /** ms since the epoch */
  now?: () => number;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function createClient(worker: WorkerLike, opts: ClientOptions = {}): SoundstepClient {
  const store = useStore;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  let nextId = 1;
  let lastCreatedAt = 0;
  let history: History | null = null;
  const pending = new Map<number, { resolve: (o: DenoiseOnceOutput) => void; reject: (e: Error) => void }>();

  const send = (msg: WorkerRequest, transfer?: Transferable[]): void => worker.postMessage(msg, transfer);
  const reading = createReadingClient({ send, nextId: () => nextId++, received: (r) => store.getState().promptReadingReceived(r) });

  /** Object URLs of results that left both the list and the grid are released. */
  const revokeUnused = (candidates: readonly GenerationResult[]): void => revokeUnusedIn(store.getState(), candidates);

  function makeResult(reply: DoneReply): GenerationResult {
    const createdAt = Math.max(now(), lastCreatedAt + 1);
    lastCreatedAt = createdAt;
    const key = `${createdAt.toString(36)}-${Math.floor(random() * 36 ** 6).toString(36)}`;
    return resultFromDone(reply, store.getState(), { key, createdAt });
  }

  /** Into the list (and the browser's history); results that fall off the list are released. */
  function addResult(result: GenerationResult, wav: ArrayBuffer): void {
    const before = store.getState().results;
    store.getState().resultAdded(result);
    revokeUnused(before);
    if (!history) return;
    history.add(toRecord(result, wav)).catch((e: unknown) => {
      store.getState().historyUnavailable(`This result could not be kept in the browser (${message(e)}); it stays until you leave the page.`);
    });
  }

  function startJob(kind: JobState['kind'], items: JobItem[]): number | null {
    const first = items[0];
    if (!first) return null;
    const id = nextId++;
    const packUrl = store.getState().packUrl;
    store.getState().jobStarted({ kind, items, index: 0, packUrl }, id);
    send({ type: 'generate', id, request: first.request, packUrl });
    return id;
  }

  function onDone(reply: DoneReply): void {
    const s = store.getState();
    if (s.run?.id !== reply.id) return; // a stale run (cancelled, or superseded)
    const job = s.job;
    const item = job?.items[job.index];
    const result = makeResult(reply);
    if (item?.cell) {
      const old = s.grid[item.cell]?.result;
      s.gridCellDone(item.cell, result);
      if (old) revokeUnused([old]);
    } else {
      addResult(result, reply.wav);
    }
    const next = job?.items[job.index + 1];
    if (s.run.status === 'cancelling') {
      // it finished before the cancel reached the worker: kept, and the rest of the job is not started
      if (job && s.run.stopReason) store.getState().cancelRequested(reply.id, jobStopReason({ ...job, index: job.index + 1 }, reply.pack.name));
      store.getState().generationCancelled(reply.id);
    } else if (job && next) {
      const id = nextId++;
      store.getState().jobAdvanced(id);
      send({ type: 'generate', id, request: next.request, ...(job.packUrl ? { packUrl: job.packUrl } : {}) });
    } else {
      store.getState().generationDone(reply.id);
      store.getState().jobFinished();
    }
  }

  function route(reply: WorkerReply): void {
    const s = store.getState();
    switch (reply.status) {
      case 'device':
        s.deviceChosen(reply);
        break;
      case 'file':
        // with an id: a denoiser's first use downloads it for that generation, else the pack's load
        if (reply.id === undefined) s.fileProgress(reply);
        else s.generationFileProgress(reply);
        break;
      case 'denoiser-ready':
        s.denoiserDownloaded(reply.denoiserId);
        break;
      case 'ready': {
        if (s.gridFor && s.gridFor.packUrl !== reply.packUrl) {
          const old = gridResults(s);
          s.gridCleared();
          revokeUnused(old);
        }
        s.packReady(reply);
        break;
      }
      case 'progress':
        s.generationProgressed(reply);
        break;
      case 'done':
        onDone(reply);
        break;
      case 'cancelled':
        s.generationCancelled(reply.id, { cancelAtStep: reply.cancelAtStep, stoppedAtStep: reply.stoppedAtStep });
        break;
      case 'phase':
        s.loadPhaseChanged(reply);
        break;
      case 'denoise-once-result': {
        const p = pending.get(reply.id);
        pending.delete(reply.id);
        p?.resolve({ output: reply.output, hidden: reply.hidden, backend: reply.backend, ms: reply.ms });
        break;
      }
      case 'prompt-reading':
        reading.onReply(reply);
        break;
      case 'error': {
        if (reply.during === 'read-prompt') {
          reading.onError(reply.id);
          break;
        }
        if (reply.during === 'denoise-once' && reply.id !== undefined) {
          const p = pending.get(reply.id);
          pending.delete(reply.id);
          const text = reply.file ? `${reply.file}: ${reply.message}` : reply.message;
          p?.reject(new SoundstepError(reply.kind, reply.message, { message: text }));
          break;
        }
        // a lost GPU device (the worker rebuilds on WASM) or a failed download on first use: Retry runs
        // the interrupted request and the rest of its job
        const retry = (reply.deviceLost || reply.download) && s.run?.id === reply.id ? retryOf(s) : null;
        if (reply.during === 'load') s.packFailed();
        else s.generationFailed(reply.id);
        s.setError({
          kind: reply.kind, message: reply.message, file: reply.file, during: reply.during, recoverable: reply.recoverable, ...(retry ? { retry } : {}),
        });
        break;
      }
      default: {
        const unknown: never = reply;
        console.warn('soundstep: unknown worker reply', unknown);
      }
    }
  }

  worker.addEventListener('message', (e: MessageEvent<WorkerReply>) => route(e.data));
  worker.addEventListener('error', (e: ErrorEvent) => {
    // the worker script itself failed (not a request): nothing is loaded any more
    const s = store.getState();
    if (s.run) s.generationFailed(s.run.id);
    s.packFailed();
    s.setError({ kind: 'device', message: `The generation worker failed: ${e.message || 'unknown error'}`, during: 'load', recoverable: false });
  });

  /** Stop the running request within a denoising step; the rest of its job is not started. */
  function stopRun(reason?: string): void {
    const run = store.getState().run;
    if (!run) return;
    store.getState().cancelRequested(run.id, reason);
    send({ type: 'cancel', id: run.id });
  }

  /** The request the form describes, without its seed and its length (generate adds both); null when Generate is blocked. */
  function formRequest(): Omit<GenerateRequest, 'seed'> | null {
    const s = store.getState();
    if (selectGenerateBlocker(s) !== null || s.job || !s.manifest) return null;
    const denoiser = selectDenoiser(s);
    if (!denoiser) return null;
    const guided = denoiser.guidance.type === 'classifier-free';
    // a negative prompt exists only for guidance's unconditional branch: a guided teacher's
    const negative = guided && s.negativePrompt.trim() !== '' ? { negativePrompt: s.negativePrompt } : {};
    return { prompt: s.prompt, denoiserId: denoiser.id, steps: s.steps, guidanceScale: guided ? s.guidanceScale : 1, ...negative };
  }

  return {
    load(packUrl, backend) {
      const s = store.getState();
      const url = packUrl ?? s.packUrl;
      const pref = backend ?? s.backendPreference;
      // a job finishes on the pack it started with or not at all: stop it, keeping what it made
      if (s.run && s.job) stopRun(jobStopReason(s.job, s.manifest?.name ?? s.packUrl));
      s.loadStarted(url, pref);
      send({ type: 'load', packUrl: url, backend: pref });
    },

    cancelLoad() {
      if (store.getState().loadStatus === 'loading') send({ type: 'cancel-load' });
    },

    generate(edit) {
      const form = formRequest();
      // an edit works on the pack's own clip length; a new sound on the length chosen
      const seconds = store.getState().seconds;
      const base = form && edit ? { ...form, edit } : form && seconds !== null ? { ...form, seconds } : form;
      if (!base) return null;
      const s = store.getState();
      // random by default: a new seed each time unless the user fixed one
      const seed = s.seedFixed ? s.seed : randomSeed(random);
      if (!s.seedFixed) s.setSeed(seed);
      return startJob('variations', variationItems(base, seed, s.variations));
    },

    fillGrid() {
      const base = formRequest();
      const s = store.getState();
      if (!base || !s.manifest) return null;
      const items = gridItems(s.manifest.denoisers, { prompt: s.prompt, seed: s.seed, guidanceScale: s.guidanceScale });
      if (items.length === 0) return null;
      const old = gridResults(s);
      s.gridStarted(items.flatMap((i) => (i.cell ? [i.cell] : [])), { prompt: s.prompt, seed: s.seed, guidanceScale: s.guidanceScale, packUrl: s.packUrl });
      revokeUnused(old);
      return startJob('grid', items);
    },

    cancel() {
      stopRun();
    },

    retry() {
      const s = store.getState();
      const job = s.error?.retry;
      if (!job || s.job) return null;
      s.clearError();
      return startJob(job.kind, job.items);
    },

    async attachHistory(h) {
      history = h;
      try {
        const records = await h.list();
        const restored = records.map(fromRecord);
        lastCreatedAt = Math.max(lastCreatedAt, ...records.map((r) => r.createdAt));
        const before = store.getState().results;
        store.getState().resultsRestored(restored);
        revokeUnused([...before, ...restored]);
        store.getState().historyOpened();
      } catch (e) {
        store.getState().historyUnavailable(`Saved results could not be read (${message(e)}); new ones are kept until you leave the page.`);
      }
    },

    async deleteResult(key) {
      const s = store.getState();
      const gone = s.results.filter((r) => r.key === key);
      s.resultRemoved(key);
      revokeUnused(gone);
      await history?.remove(key);
    },

    async clearResults() {
      const s = store.getState();
      const gone = s.results;
      s.resultsCleared();
      revokeUnused(gone);
      await history?.clear();
    },

    denoiseOnce(input) {
      const id = nextId++;
      return new Promise<DenoiseOnceOutput>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ type: 'denoise-once', id, ...input });
      });
    },

    readPrompt(prompt, pack) {
      reading.read(prompt, pack);
    },

    dispose() {
      worker.terminate();
      for (const p of pending.values()) p.reject(new SoundstepError('cancelled', 'worker terminated'));
      pending.clear();
      history?.close();
    },
  };
}
