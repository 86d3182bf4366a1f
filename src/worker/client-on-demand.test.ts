// The page's side of denoisers on demand (the worker's side is on-demand.test.ts): the ready
// reply's list of denoisers not downloaded, a generation's download shown as its progress, the
// download's end, and a failed download offered again with Retry.
import { beforeEach, describe, expect, it } from 'vitest';
import { resetStore, selectProgressText, useStore } from '../store';
import { fakeWorker, generates, manifest } from '../testing/fake-worker';
import { createClient } from './client';
import type { LoadSummary } from './protocol';

beforeEach(() => resetStore());

const TEACHER = 'denoisers/teacher.onnx';

const load: LoadSummary = {
  precision: { dtype: 'float32', reason: 'float32 weights' },
  graphs: [],
  manifestSource: 'network',
  filesFromCache: 0,
  filesFromNetwork: 6,
  bytes: 19_900_000,
  warmUpMs: 5,
  onDemand: [{ kind: 'denoiser', denoiserId: 'teacher', file: TEACHER, bytes: 2_583_667 }],
};

/** A client on a pack whose teacher is not downloaded, with a prompt typed and the teacher chosen. */
function onDemandPack() {
  const fw = fakeWorker();
  const client = createClient(fw.worker);
  client.load('/p/', 'wasm');
  fw.reply({ status: 'ready', packUrl: '/p/', manifest: { ...manifest, defaultDenoiser: 'bsa-25' }, backend: 'wasm', loadMs: 1, load });
  useStore.getState().setPrompt('rain');
  useStore.getState().setRole('teacher');
  return { ...fw, client };
}

describe('denoisers on demand, on the page', () => {
  it('knows which denoisers are not downloaded, shows a download as the run\'s progress, and forgets it once ready', () => {
    const { client, sent, reply } = onDemandPack();
    const s = useStore.getState;
    expect(s().onDemand).toEqual({ teacher: 2_583_667 });
    const id = client.generate()!;
    expect(generates(sent).at(-1)?.request.denoiserId).toBe('teacher');
    reply({ status: 'file', id, file: TEACHER, loaded: 1_234_567, total: 2_583_667, done: false });
    expect(selectProgressText(s())).toBe('downloading denoisers/teacher.onnx 1.2 of 2.6 MB');
    // the load's list of files is not the generation's
    expect(s().files[TEACHER]).toBeUndefined();
    client.cancel();
    expect(selectProgressText(s())).toBe('downloading denoisers/teacher.onnx 1.2 of 2.6 MB (cancelling)');
    reply({ status: 'cancelled', id });
    expect(s().onDemand).toEqual({ teacher: 2_583_667 }); // still not downloaded

    const again = client.generate()!;
    reply({ status: 'file', id: again, file: TEACHER, loaded: 2_583_667, total: 2_583_667, done: true, source: 'network' });
    reply({ status: 'denoiser-ready', id: again, denoiserId: 'teacher' });
    expect(s().onDemand).toEqual({});
    expect(selectProgressText(s())).toBe('starting');
    reply({ status: 'progress', id: again, stage: 'denoise', step: 3, totalSteps: 25 });
    expect(selectProgressText(s())).toBe('denoise: step 3 of 25');
  });

  it('a failed download is an alert naming the file with Retry, which sends the request again', () => {
    const { client, sent, reply } = onDemandPack();
    const id = client.generate()!;
    const message = 'could not be fetched. It is downloaded on first use; nothing else was lost';
    reply({ status: 'error', id, during: 'generate', kind: 'pack', message, file: TEACHER, recoverable: true, download: true });
    const s = useStore.getState();
    expect(s.error).toMatchObject({ kind: 'pack', file: TEACHER, recoverable: true, message });
    expect(s.error?.retry?.items.map((i) => i.request.denoiserId)).toEqual(['teacher']);
    expect(s.loadStatus).toBe('ready'); // the pack stays usable
    const retried = client.retry();
    expect(retried).not.toBeNull();
    expect(generates(sent).at(-1)).toMatchObject({ id: retried, request: { denoiserId: 'teacher', prompt: 'rain' } });
  });
});
