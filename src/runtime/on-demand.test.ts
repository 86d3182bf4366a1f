// Denoisers on demand, over the REAL shipped pack on onnxruntime-node: a load fetches one
// denoiser (the pack's default), a generation with another fetches that one once and makes the
// same audio as a pipeline that loaded everything up front, and a cancelled or failed download
// loses nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ortNode, requirePack } from '../testing/pack';
import type { GenerateRequest } from './api';
import { CancelledError, errorKind, PackError } from './errors';
import { fsFetchFile } from './fs-fetch';
import type { OrtModule } from './ort';
import type { FetchFile, FileEvent } from './pack';
import { Pipeline } from './pipeline';

const DEFAULT = 'snr+1-25'; // the pack's best 25-step student by its metrics (domain/default-denoiser.ts)
const TEACHER_FILE = 'denoisers/teacher.onnx';

let ort: OrtModule;
/** loaded with every graph up front: the reference */
let eager: Pipeline;

/** fsFetchFile over the shipped pack that counts the fetches of each file. */
function counting(inner: FetchFile = fsFetchFile(requirePack())): { fetchFile: FetchFile; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const fetchFile: FetchFile = (path, onProgress, signal) => {
    calls.set(path, (calls.get(path) ?? 0) + 1);
    return inner(path, onProgress, signal);
  };
  return { fetchFile, calls };
}

const denoiserFetches = (calls: Map<string, number>): string[] =>
  [...calls.entries()].filter(([f]) => f.startsWith('denoisers/')).flatMap(([f, n]) => Array<string>(n).fill(f));

const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: 'a dog barks',
  denoiserId: 'teacher',
  steps: 25,
  guidanceScale: 3,
  seed: 7,
  ...over,
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  ort = await ortNode();
  eager = await Pipeline.load({ ort, backend: 'cpu', fetchFile: fsFetchFile(requirePack()), eager: true });
});
afterAll(async () => {
  await eager?.dispose();
});

describe('a load', () => {
  it('fetches the default denoiser only, and says what the others download', async () => {
    const { fetchFile, calls } = counting();
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile });
    try {
      expect(denoiserFetches(calls)).toEqual([`denoisers/${DEFAULT}.onnx`]);
      expect(calls.get('text_encoder.onnx')).toBe(1);
      expect(p.hasDenoiser(DEFAULT)).toBe(true);
      expect(p.hasDenoiser('teacher')).toBe(false);
      const waiting = p.notLoaded();
      expect(waiting.map((g) => g.denoiserId)).toEqual(['teacher', 'bsa-100', 'bsa-50', 'bsa-25', 'snr-trunc-25', 'min-snr-25', 'eps-25']);
      expect(waiting.find((g) => g.denoiserId === 'teacher')).toEqual({ kind: 'denoiser', denoiserId: 'teacher', file: TEACHER_FILE, bytes: p.manifest.files[TEACHER_FILE]!.bytes });
      expect(p.loadReport?.graphs.map((g) => g.file)).toEqual(['text_encoder.onnx', `denoisers/${DEFAULT}.onnx`, 'vae_decoder.onnx', 'vocoder.onnx']);
      // the time axis is read from the graphs that are loaded: the same answer as with all of them
      expect(p.longClips).toBe(eager.longClips);
    } finally {
      await p.dispose();
    }
  });

  it('loads another denoiser up front when asked, and every graph with eager', async () => {
    const { fetchFile, calls } = counting();
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile, denoiser: 'bsa-50' });
    await p.dispose();
    expect(denoiserFetches(calls)).toEqual(['denoisers/bsa-50.onnx']);
    expect(eager.notLoaded()).toEqual([]);
  });
});

describe('a denoiser on first use', () => {
  it('is fetched once, with progress, and makes the same audio as the eager pipeline', async () => {
    const { fetchFile, calls } = counting();
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile });
    try {
      const events: FileEvent[] = [];
      const lazy = await p.generate(request(), { onFile: (e) => events.push(e) });
      const again = await p.generate(request({ seed: 8 }));
      expect(denoiserFetches(calls).sort()).toEqual([TEACHER_FILE, `denoisers/${DEFAULT}.onnx`].sort());
      expect(events.at(-1)).toMatchObject({ file: TEACHER_FILE, done: true, source: 'network', loaded: p.manifest.files[TEACHER_FILE]!.bytes });
      const reference = await eager.generate(request());
      expect(maxAbsDiff(lazy.waveform, reference.waveform)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(lazy.latent, reference.latent)).toBeLessThanOrEqual(1e-6);
      expect(again.waveform.length).toBe(p.manifest.audio.num_samples);
      expect(p.notLoaded().map((g) => g.denoiserId)).not.toContain('teacher');
    } finally {
      await p.dispose();
    }
  });

  it('is fetched once when two requests ask for it at the same time (one create at a time)', async () => {
    const { fetchFile, calls } = counting();
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile });
    try {
      const [a, b] = await Promise.all([p.ensureDenoiser('eps-25'), p.ensureDenoiser('eps-25')]);
      expect(a).toBe(b);
      expect(calls.get('denoisers/eps-25.onnx')).toBe(1);
    } finally {
      await p.dispose();
    }
  });

  it('stops downloading when cancelled, and a later generation downloads it again', async () => {
    // the teacher's download stalls until its signal aborts, as a slow network would
    let stalled = 0;
    const slow: FetchFile = (path, onProgress, signal) =>
      path === TEACHER_FILE && stalled++ === 0
        ? new Promise((_, reject) => {
            signal?.addEventListener('abort', () => reject(new Error('aborted by the test')));
            onProgress?.(1000, 0);
          })
        : fsFetchFile(requirePack())(path, onProgress, signal);
    const { fetchFile, calls } = counting(slow);
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile });
    try {
      const controller = new AbortController();
      const error = await p
        .generate(request(), { signal: controller.signal, onFile: (e) => e.file === TEACHER_FILE && e.loaded > 0 && controller.abort() })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CancelledError);
      expect(p.hasDenoiser('teacher')).toBe(false);
      // the loaded denoiser still works, and the teacher downloads again on its next use
      const student = await p.generate(request({ denoiserId: DEFAULT, guidanceScale: 1 }));
      expect(student.waveform.length).toBe(p.manifest.audio.num_samples);
      const teacher = await p.generate(request());
      expect(calls.get(TEACHER_FILE)).toBe(2);
      expect(maxAbsDiff(teacher.waveform, (await eager.generate(request())).waveform)).toBeLessThanOrEqual(1e-6);
    } finally {
      await p.dispose();
    }
  });

  it('that fails to download names the file, says what to do, and leaves the pipeline usable', async () => {
    let failures = 0;
    const offline: FetchFile = (path, onProgress, signal) =>
      path === 'denoisers/bsa-25.onnx' && failures++ === 0
        ? Promise.reject(new PackError(path, 'could not be fetched from http://x/denoisers/bsa-25.onnx: you may be offline', { network: true }))
        : fsFetchFile(requirePack())(path, onProgress, signal);
    const p = await Pipeline.load({ ort, backend: 'cpu', fetchFile: offline });
    try {
      const error = await p.generate(request({ denoiserId: 'bsa-25', guidanceScale: 1 })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PackError);
      expect(errorKind(error)).toBe('pack');
      expect((error as PackError).file).toBe('denoisers/bsa-25.onnx');
      expect((error as PackError).problem).toMatch(/downloaded on first use.*other models still work.*generate again to retry/);
      const student = await p.generate(request({ denoiserId: DEFAULT, guidanceScale: 1 }));
      expect(student.waveform.length).toBe(p.manifest.audio.num_samples);
      const retried = await p.generate(request({ denoiserId: 'bsa-25', guidanceScale: 1 }));
      expect(retried.waveform.length).toBe(p.manifest.audio.num_samples);
    } finally {
      await p.dispose();
    }
  });
});
