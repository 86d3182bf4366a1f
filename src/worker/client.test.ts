import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClient, slugify, variationItems, wavFileName } from './client';
import { openHistory } from '../history';
import { resetStore, selectProgressText, useStore } from '../store';
import { doneFor, fakeWorker, generates, manifest, ready } from '../testing/fake-worker';

beforeEach(() => resetStore());

describe('file names', () => {
  it('slugs prompts into whole lowercase words', () => {
    expect(slugify('A Dog barks, loudly!')).toBe('a-dog-barks-loudly');
    expect(slugify('   ')).toBe('sound');
    expect(slugify('a dog barks while rain falls on a tin roof, thunder in the distance')).toBe('a-dog-barks-while-rain-falls-on-a-tin-roof');
    expect(slugify('x'.repeat(60))).toHaveLength(48);
    expect(wavFileName('Rain', 'teacher', 25, 7)).toBe('rain_teacher_25-steps_seed-7.wav');
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
    useStore.getState().setSeedFixed(true);
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
    reply({ status: 'error', during: 'load', kind: 'pack', message: 'SHA-256 mismatch', file: 'vocoder.onnx', recoverable: false });
    const s = useStore.getState();
    expect(s.loadStatus).toBe('failed');
    expect(s.error).toMatchObject({ kind: 'pack', file: 'vocoder.onnx', recoverable: false });
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
    reply({ status: 'error', id: b!.id, during: 'denoise-once', kind: 'pack', message: 'no pack', recoverable: false });
    await expect(ok).resolves.toMatchObject({ backend: 'wasm', ms: 3 });
    await expect(bad).rejects.toThrow('no pack');
    await expect(bad).rejects.toMatchObject({ kind: 'pack' });
    expect(useStore.getState().error).toBeNull(); // test-only requests do not touch the page's alert
  });

  it('keeps the kind of every error: from a reply, a terminated worker (cancelled), a failed worker script (device)', async () => {
    const { client, sent, reply, fail } = ready();
    const id = client.generate()!;
    reply({ status: 'error', id, during: 'generate', kind: 'input', message: 'steps 3 does not divide 1000', recoverable: true });
    expect(useStore.getState().error).toEqual({
      kind: 'input', message: 'steps 3 does not divide 1000', file: undefined, during: 'generate', recoverable: true,
    });
    expect(useStore.getState().run).toBeNull();

    const input = { denoiserId: 'teacher', sample: new Float32Array(1), timestep: 999, inputIds: new BigInt64Array(1), attentionMask: new BigInt64Array(1), batch: 1 };
    const pending = client.denoiseOnce(input);
    expect(sent.at(-1)).toMatchObject({ type: 'denoise-once' });
    client.dispose();
    await expect(pending).rejects.toMatchObject({ kind: 'cancelled', message: 'worker terminated' });

    fail('Uncaught SyntaxError');
    expect(useStore.getState().error).toMatchObject({ kind: 'device', during: 'load', recoverable: false });
    expect(useStore.getState().error?.message).toBe('The generation worker failed: Uncaught SyntaxError');
  });
});

describe('jobs', () => {
  it('variations: seeds seed, seed+1, ... one request at a time; each done result is listed newest first', () => {
    const { client, sent, reply } = ready();
    const s = useStore.getState;
    s().setSeed(41);
    s().setSeedFixed(true);
    s().setVariations(3);
    s().setSteps(25);
    client.generate();
    expect(generates(sent).map((m) => m.request.seed)).toEqual([41]); // only the first is in the worker
    expect(selectProgressText(s())).toBe('variation 1 of 3 · starting');
    reply(doneFor(generates(sent)[0]!));
    reply(doneFor(generates(sent)[1]!));
    expect(s().run?.request.seed).toBe(43);
    reply(doneFor(generates(sent)[2]!));
    expect(generates(sent).map((m) => m.request.seed)).toEqual([41, 42, 43]);
    expect(s().run).toBeNull();
    expect(s().job).toBeNull();
    expect(s().results.map((r) => r.request.seed)).toEqual([43, 42, 41]);
    expect(s().results[0]!.fileName).toBe('rain-on-a-roof_teacher_25-steps_seed-43.wav');
    expect(s().results[0]!.networkEvaluations).toBe(50);
    expect(s().results[0]!.url).toMatch(/^blob:/);
  });

  it('draws a new random seed per Generate unless the seed is fixed', () => {
    const rolls = [0.25, 0.5];
    const { client, sent, reply } = ready({ random: () => rolls.shift() ?? 0.75 });
    client.generate();
    expect(generates(sent)[0]!.request.seed).toBe(2 ** 29);
    expect(useStore.getState().seed).toBe(2 ** 29); // shown, so it can be copied or fixed
    reply(doneFor(generates(sent)[0]!));
    useStore.getState().setSeedFixed(true);
    client.generate();
    expect(generates(sent)[1]!.request.seed).toBe(2 ** 29);
  });

  it('Cancel stops the running variation and skips the rest; the step it stopped at is kept', () => {
    const { client, sent, reply } = ready();
    const s = useStore.getState;
    s().setVariations(4);
    client.generate();
    const first = generates(sent)[0]!;
    reply({ status: 'progress', id: first.id, stage: 'denoise', step: 7, totalSteps: 50 });
    client.cancel();
    expect(sent.at(-1)).toEqual({ type: 'cancel', id: first.id });
    reply({ status: 'progress', id: first.id, stage: 'denoise', step: 8, totalSteps: 50 });
    reply({ status: 'cancelled', id: first.id });
    expect(s().lastCancel).toEqual({ requestedAt: 7, stoppedAt: 8, totalSteps: 50, skipped: 3 }); // what the page saw
    expect(generates(sent)).toHaveLength(1); // the other 3 variations were never sent
    expect(s().job).toBeNull();
    // usable again, and the worker's own count wins when it sends one
    client.generate();
    const again = generates(sent)[1]!;
    reply({ status: 'progress', id: again.id, stage: 'denoise', step: 3, totalSteps: 50 });
    client.cancel();
    reply({ status: 'cancelled', id: again.id, cancelAtStep: 4, stoppedAtStep: 5 });
    expect(s().lastCancel).toEqual({ requestedAt: 4, stoppedAt: 5, totalSteps: 50, skipped: 3 });
    expect(s().results).toEqual([]);
    expect(s().job).toBeNull();
  });

  it('student requests carry guidance 1 (folded); the teacher carries the form scale', () => {
    const { client, sent, reply } = ready();
    const s = useStore.getState;
    s().setGuidanceScale(4.5);
    client.generate();
    expect(generates(sent)[0]!.request).toMatchObject({ denoiserId: 'teacher', guidanceScale: 4.5 });
    reply(doneFor(generates(sent)[0]!));
    s().setRole('student');
    client.generate();
    expect(generates(sent)[1]!.request).toMatchObject({ denoiserId: 'bsa-25', steps: 25, guidanceScale: 1 });
  });

  it('the negative prompt goes with a guided teacher’s request only, and not when blank', () => {
    const { client, sent, reply } = ready();
    const s = useStore.getState;
    s().setNegativePrompt('a man speaks');
    client.generate();
    expect(generates(sent)[0]!.request).toMatchObject({ denoiserId: 'teacher', negativePrompt: 'a man speaks' });
    reply(doneFor(generates(sent)[0]!));
    expect(s().results[0]!.request.negativePrompt).toBe('a man speaks'); // the result says how it was made
    s().setRole('student'); // folded guidance: no unconditional branch, the text is kept but not sent
    client.generate();
    expect(generates(sent)[1]!.request).not.toHaveProperty('negativePrompt');
    reply(doneFor(generates(sent)[1]!));
    expect(s().negativePrompt).toBe('a man speaks');
    s().setRole('teacher');
    s().setNegativePrompt('  ');
    client.generate();
    expect(generates(sent)[2]!.request).not.toHaveProperty('negativePrompt');
  });

  it('the chosen clip length goes with a new sound, not with an edit; a length the pack does not make is kept out', () => {
    const { client, sent, reply } = ready();
    const s = useStore.getState;
    const long = { ...manifest, clipSeconds: 2.56, numSamples: 40960, clipLengths: [2.56, 5.12, 7.68, 10.24] };
    client.load('/long/', 'wasm');
    reply({ status: 'ready', packUrl: '/long/', manifest: long, backend: 'wasm', loadMs: 1 });
    s().setSeconds(3); // not a multiple of 2.56 s: ignored
    expect(s().seconds).toBeNull();
    s().setSeconds(5.12);
    expect(s().seconds).toBe(5.12);
    client.generate();
    expect(generates(sent)[0]!.request).toMatchObject({ seconds: 5.12 });
    reply(doneFor(generates(sent)[0]!));
    // inpainting and audio-to-audio work on the pack's own length
    client.generate({ kind: 'inpaint', latent: new Float32Array(4), startFrame: 0, endFrame: 1 });
    expect(generates(sent)[1]!.request).not.toHaveProperty('seconds');
    reply(doneFor(generates(sent)[1]!));
    s().setSeconds(2.56); // the pack's own: sent as no length at all
    expect(s().seconds).toBeNull();
    s().setSeconds(10.24);
    // a pack whose graphs are fixed at their length: back to its own
    client.load('/p/', 'wasm');
    reply({ status: 'ready', packUrl: '/p/', manifest: { ...long, clipLengths: [2.56] }, backend: 'wasm', loadMs: 1 });
    expect(s().seconds).toBeNull();
    client.generate();
    expect(generates(sent)[2]!.request).not.toHaveProperty('seconds');
  });

  it('fills the grid cheapest cell first with the form prompt and seed; cells get results, the list does not', () => {
    const { client, sent, reply } = ready();
    const s = useStore.getState;
    s().setSeed(9);
    client.fillGrid();
    expect(s().gridFor).toEqual({ prompt: 'Rain on a roof', seed: 9, guidanceScale: 3, packUrl: '/p/' });
    expect(Object.keys(s().grid).sort()).toEqual(['bsa-25@25', 'teacher@100', 'teacher@200', 'teacher@25', 'teacher@50']);
    expect(s().grid['bsa-25@25']!.status).toBe('running');
    expect(selectProgressText(s())).toBe('cell 1 of 5: bsa · 25 steps · starting');
    reply(doneFor(generates(sent)[0]!));
    expect(s().grid['bsa-25@25']).toMatchObject({ status: 'done', result: { networkEvaluations: 25 } });
    expect(s().grid['teacher@25']!.status).toBe('running');
    const second = generates(sent)[1]!;
    expect(second.request).toEqual({ prompt: 'Rain on a roof', denoiserId: 'teacher', steps: 25, guidanceScale: 3, seed: 9 });
    client.cancel();
    reply({ status: 'cancelled', id: second.id });
    expect(Object.keys(s().grid)).toEqual(['bsa-25@25']); // the filled cell stays, the rest is cleared
    expect(s().results).toEqual([]);
    // the same pack again keeps the grid; another pack clears it
    reply({ status: 'ready', packUrl: '/p/', manifest, backend: 'wasm', loadMs: 1 });
    expect(Object.keys(s().grid)).toEqual(['bsa-25@25']);
    reply({ status: 'ready', packUrl: '/other/', manifest, backend: 'wasm', loadMs: 1 });
    expect(s().grid).toEqual({});
    expect(s().gridFor).toBeNull();
  });

  it('keeps results in the history and restores them into a fresh page (reload)', async () => {
    const factory = new IDBFactory();
    const first = ready({ now: () => 1_000 });
    await first.client.attachHistory(await openHistory({ factory }));
    first.client.generate();
    first.reply(doneFor(generates(first.sent)[0]!, 1234));
    await new Promise((r) => setTimeout(r, 20));
    const key = useStore.getState().results[0]!.key;

    resetStore();
    const second = ready();
    await second.client.attachHistory(await openHistory({ factory }));
    const s = useStore.getState();
    expect(s.historyStatus).toBe('ready');
    expect(s.results).toHaveLength(1);
    expect(s.results[0]).toMatchObject({ key, restored: true, totalMs: 1234, networkEvaluations: 50, bytes: 52 }); // 25 guided steps (the teacher starts at its fewest)
    expect(new Uint8Array(await s.results[0]!.wav.arrayBuffer()).subarray(0, 4)).toEqual(new Uint8Array([82, 73, 70, 70]));
    await second.client.deleteResult(key);
    expect(useStore.getState().results).toEqual([]);
    expect(await (await openHistory({ factory })).list()).toEqual([]);
  });
});

describe('variationItems', () => {
  it('numbers the seeds and labels', () => {
    const items = variationItems({ prompt: 'p', denoiserId: 't', steps: 25, guidanceScale: 3 }, 10, 2);
    expect(items.map((i) => [i.request.seed, i.label])).toEqual([[10, 'variation 1 of 2'], [11, 'variation 2 of 2']]);
  });
});
