// A stand-in for the generation worker on the page's side (client tests): it records requests
// and lets the test deliver replies; and the small pack summary those tests load.

import { createClient, type WorkerLike } from '../worker/client';
import { encodeWav } from '../engine/wav';
import { useStore } from '../store';
import type { ManifestSummary } from '../domain/pack-summary';
import type { DoneReply, GenerateMessage, WorkerReply, WorkerRequest } from '../worker/protocol';

/** A worker stand-in: records requests, lets the test deliver replies. */
export function fakeWorker() {
  const sent: WorkerRequest[] = [];
  let onMessage: ((e: MessageEvent<WorkerReply>) => void) | null = null;
  let onError: ((e: ErrorEvent) => void) | null = null;
  const worker: WorkerLike = {
    postMessage: (m: WorkerRequest) => void sent.push(m),
    addEventListener: ((type: string, l: (e: never) => void) => {
      if (type === 'message') onMessage = l as (e: MessageEvent<WorkerReply>) => void;
      if (type === 'error') onError = l as (e: ErrorEvent) => void;
    }),
    terminate: () => undefined,
  };
  const reply = (r: WorkerReply) => onMessage?.({ data: r } as MessageEvent<WorkerReply>);
  /** the worker script itself fails */
  const fail = (message: string) => onError?.({ message } as ErrorEvent);
  return { worker, sent, reply, fail };
}

export const manifest: ManifestSummary = {
  id: 'p', name: 'pack', description: '', license: '', sampleRate: 16000, numSamples: 4, clipSeconds: 0.00025, maxTokens: 32,
  denoisers: [
    { id: 'teacher', role: 'teacher', method: null, steps: [200, 100, 50, 25], guidance: { type: 'classifier-free', defaultScale: 3 } },
    { id: 'bsa-25', role: 'student', method: 'bsa', steps: [25], guidance: { type: 'folded' } },
  ],
  mel: { sample_rate: 16000, n_fft: 1024, hop_length: 160, win_length: 1024, n_mels: 64, f_min: 0, f_max: 8000, log_floor: 1e-5 },
  metrics: null,
  vocabulary: [],
  // these tests start on the teacher: the manifest names it (the default rule is store.test's)
  defaultDenoiser: 'teacher',
};

/** The worker's 'done' for generate request `m`: a 4-sample WAV. */
export function doneFor(m: GenerateMessage, totalMs = 100, pack = { url: '/p/', id: 'p', name: 'pack' }): DoneReply {
  const wav = encodeWav(new Float32Array([0, 0.5, -0.5, 0]), 16000).buffer as ArrayBuffer;
  const nfe = m.request.denoiserId === 'teacher' ? 2 * m.request.steps : m.request.steps;
  return {
    status: 'done', id: m.id, pack, wav, sampleRate: 16000, numSamples: 4, totalMs, networkEvaluations: nfe, truncated: false, tokenCount: 2,
    timings: { tokenize: 1, encode: 1, denoise: totalMs - 4, decode: 1, vocode: 1 }, request: m.request,
  };
}

export const generates = (sent: WorkerRequest[]): GenerateMessage[] => sent.filter((m): m is GenerateMessage => m.type === 'generate');

/** A client with the pack loaded and a prompt typed. */
export function ready(opts: Parameters<typeof createClient>[1] = {}) {
  const fw = fakeWorker();
  const client = createClient(fw.worker, opts);
  client.load('/p/', 'wasm');
  fw.reply({ status: 'ready', packUrl: '/p/', manifest, backend: 'wasm', loadMs: 1 });
  useStore.getState().setPrompt('Rain on a roof');
  return { ...fw, client };
}
