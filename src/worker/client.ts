// The page's side of the worker protocol: sends requests, routes every reply to a store action.
// Created once (main.tsx); React components call its methods and read the store.

import type { Backend } from '../runtime/api';
import { useStore } from '../store';
import type { BackendPreference, DenoiseOnceRequest, WorkerReply, WorkerRequest } from './protocol';

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
  /** start a generation from the form state; returns its id, or null when blocked */
  generate(): number | null;
  cancel(): void;
  denoiseOnce(input: DenoiseOnceInput): Promise<DenoiseOnceOutput>;
  dispose(): void;
}

/** Longest slug in a file name, in characters. */
const MAX_SLUG = 48;

/** "a-dog-barks-in-the-rain" from a prompt: lowercase ASCII words, whole words, at most 48 characters. */
export function slugify(prompt: string): string {
  const full = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (full.length <= MAX_SLUG) return full || 'sound';
  const cut = full.slice(0, MAX_SLUG + 1);
  const lastDash = cut.lastIndexOf('-');
  // cut at the last word boundary, unless the first word alone is that long
  return (lastDash > 0 ? cut.slice(0, lastDash) : full.slice(0, MAX_SLUG)).replace(/-+$/g, '');
}

/** Download name: prompt, steps and seed, e.g. "a-dog-barks_25-steps_seed-1.wav". */
export function wavFileName(prompt: string, steps: number, seed: number): string {
  return `${slugify(prompt)}_${steps}-steps_seed-${seed}.wav`;
}

export function createClient(worker: WorkerLike): SoundstepClient {
  const store = useStore;
  let nextId = 1;
  const pending = new Map<number, { resolve: (o: DenoiseOnceOutput) => void; reject: (e: Error) => void }>();

  const send = (msg: WorkerRequest, transfer?: Transferable[]): void => worker.postMessage(msg, transfer);

  function route(reply: WorkerReply): void {
    const s = store.getState();
    switch (reply.status) {
      case 'device':
        s.deviceChosen(reply);
        break;
      case 'file':
        s.fileProgress(reply);
        break;
      case 'ready':
        s.packReady(reply);
        break;
      case 'progress':
        s.generationProgressed(reply);
        break;
      case 'done': {
        if (s.run?.id !== reply.id) break; // a stale run (cancelled, or superseded)
        const previous = s.result?.url;
        const url = URL.createObjectURL(new Blob([reply.wav], { type: 'audio/wav' }));
        s.generationDone(reply, url, wavFileName(reply.request.prompt, reply.request.steps, reply.request.seed));
        if (previous) URL.revokeObjectURL(previous);
        break;
      }
      case 'cancelled':
        s.generationCancelled(reply.id);
        break;
      case 'denoise-once-result': {
        const p = pending.get(reply.id);
        pending.delete(reply.id);
        p?.resolve({ output: reply.output, hidden: reply.hidden, backend: reply.backend, ms: reply.ms });
        break;
      }
      case 'error': {
        if (reply.during === 'denoise-once' && reply.id !== undefined) {
          const p = pending.get(reply.id);
          pending.delete(reply.id);
          p?.reject(new Error(reply.file ? `${reply.file}: ${reply.message}` : reply.message));
          break;
        }
        if (reply.during === 'load') s.packFailed();
        else s.generationFailed(reply.id);
        s.setError({ message: reply.message, file: reply.file, during: reply.during, recoverable: reply.recoverable });
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
    s.setError({ message: `The generation worker failed: ${e.message || 'unknown error'}`, during: 'load', recoverable: false });
  });

  return {
    load(packUrl, backend) {
      const s = store.getState();
      const url = packUrl ?? s.packUrl;
      const pref = backend ?? s.backendPreference;
      s.loadStarted(url, pref);
      send({ type: 'load', packUrl: url, backend: pref });
    },

    generate() {
      const s = store.getState();
      if (s.prompt.trim() === '' || s.run || s.loadStatus !== 'ready' || !s.manifest) return null;
      const denoiser = s.manifest.denoisers.find((d) => d.id === s.denoiserId) ?? s.manifest.denoisers[0];
      if (!denoiser) return null;
      const id = nextId++;
      const request = {
        prompt: s.prompt,
        denoiserId: denoiser.id,
        steps: s.steps,
        guidanceScale: denoiser.guidance.type === 'classifier-free' ? denoiser.guidance.defaultScale : 1,
        seed: s.seed,
      };
      s.generationStarted(id, request);
      send({ type: 'generate', id, request });
      return id;
    },

    cancel() {
      const run = store.getState().run;
      if (!run) return;
      store.getState().cancelRequested(run.id);
      send({ type: 'cancel', id: run.id });
    },

    denoiseOnce(input) {
      const id = nextId++;
      return new Promise<DenoiseOnceOutput>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ type: 'denoise-once', id, ...input });
      });
    },

    dispose() {
      worker.terminate();
      for (const p of pending.values()) p.reject(new Error('worker terminated'));
      pending.clear();
    },
  };
}
