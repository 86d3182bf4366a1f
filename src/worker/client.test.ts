import { beforeEach, describe, expect, it } from 'vitest';
import { createClient, slugify, wavFileName, type WorkerLike } from './client';
import { resetStore, useStore } from '../store';
import type { ManifestSummary, WorkerReply, WorkerRequest } from './protocol';

/** A worker stand-in: records requests, lets the test deliver replies. */
function fakeWorker() {
  const sent: WorkerRequest[] = [];
  let onMessage: ((e: MessageEvent<WorkerReply>) => void) | null = null;
  const worker: WorkerLike = {
    postMessage: (m: WorkerRequest) => void sent.push(m),
    addEventListener: ((type: string, l: (e: never) => void) => {
      if (type === 'message') onMessage = l as (e: MessageEvent<WorkerReply>) => void;
    }) as WorkerLike['addEventListener'],
    terminate: () => undefined,
  };
  const reply = (r: WorkerReply) => onMessage?.({ data: r } as MessageEvent<WorkerReply>);
  return { worker, sent, reply };
}

const manifest: ManifestSummary = {
  id: 'p', name: 'pack', description: '', license: '', sampleRate: 16000, numSamples: 4, clipSeconds: 0.00025, maxTokens: 32,
  denoisers: [{ id: 'teacher', role: 'teacher', method: null, steps: [200, 100, 50, 25], guidance: { type: 'classifier-free', defaultScale: 3 } }],
};

beforeEach(() => resetStore());

describe('file names', () => {
  it('slugs prompts into whole lowercase words', () => {
    expect(slugify('A Dog barks, loudly!')).toBe('a-dog-barks-loudly');
    expect(slugify('   ')).toBe('sound');
    expect(slugify('a dog barks while rain falls on a tin roof, thunder in the distance')).toBe('a-dog-barks-while-rain-falls-on-a-tin-roof');
    expect(slugify('x'.repeat(60))).toHaveLength(48);
    expect(wavFileName('Rain', 25, 7)).toBe('rain_25-steps_seed-7.wav');
  });
});

describe('client', () => {
  it('routes load replies and a generation to the store', () => {
    const { worker, sent, reply } = fakeWorker();
    const client = createClient(worker);
    client.load('/p/', 'wasm');
    expect(sent[0]).toEqual({ type: 'load', packUrl: '/p/', backend: 'wasm' });
    reply({ status: 'device', backend: 'wasm', reason: 'WASM (2 threads), as requested', threads: 2, crossOriginIsolated: true });
    reply({ status: 'file', file: 'vocoder.onnx', loaded: 5, total: 10, done: false });
    reply({ status: 'ready', packUrl: '/p/', manifest, backend: 'wasm', loadMs: 12 });
    expect(useStore.getState().device?.reason).toBe('WASM (2 threads), as requested');
    expect(useStore.getState().files['vocoder.onnx']).toEqual({ loaded: 5, total: 10, done: false });

    expect(client.generate()).toBeNull(); // blank prompt
    useStore.getState().setPrompt('rain');
    useStore.getState().setSteps(25);
    const id = client.generate();
    expect(id).not.toBeNull();
    expect(sent[1]).toMatchObject({ type: 'generate', id, request: { prompt: 'rain', steps: 25, guidanceScale: 3, denoiserId: 'teacher' } });
    expect(client.generate()).toBeNull(); // one at a time

    client.cancel();
    expect(sent[2]).toEqual({ type: 'cancel', id });
    reply({ status: 'cancelled', id: id! });
    expect(useStore.getState().run).toBeNull();
  });

  it('turns a load error into a failed pack and an alert naming the file', () => {
    const { worker, reply } = fakeWorker();
    const client = createClient(worker);
    useStore.getState().setPrompt('kept');
    client.load('/p/', 'auto');
    reply({ status: 'error', during: 'load', message: 'SHA-256 mismatch', file: 'vocoder.onnx', recoverable: false });
    const s = useStore.getState();
    expect(s.loadStatus).toBe('failed');
    expect(s.error).toMatchObject({ file: 'vocoder.onnx', recoverable: false });
    expect(s.prompt).toBe('kept');
  });

  it('resolves and rejects denoise-once by request id', async () => {
    const { worker, sent, reply } = fakeWorker();
    const client = createClient(worker);
    const input = { denoiserId: 'teacher', sample: new Float32Array(1), timestep: 999, inputIds: new BigInt64Array(1), attentionMask: new BigInt64Array(1), batch: 1 };
    const ok = client.denoiseOnce(input);
    const bad = client.denoiseOnce(input);
    const [a, b] = sent as Array<{ id: number }>;
    reply({ status: 'denoise-once-result', id: a!.id, backend: 'wasm', output: new Float32Array([0.5]), hidden: new Float32Array(1), ms: 3 });
    reply({ status: 'error', id: b!.id, during: 'denoise-once', message: 'no pack', recoverable: false });
    await expect(ok).resolves.toMatchObject({ backend: 'wasm', ms: 3 });
    await expect(bad).rejects.toThrow('no pack');
    expect(useStore.getState().error).toBeNull(); // test-only requests do not touch the page's alert
  });
});
