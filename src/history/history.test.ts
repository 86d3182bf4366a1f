// The history module on fake-indexeddb (a spec-following in-memory IndexedDB for Node);
// the real browser IndexedDB is covered by e2e/history.spec.ts.
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_STORE, isHistoryRecord, openHistory, type HistoryRecord } from './index';

let factory: IDBFactory;
beforeEach(() => {
  factory = new IDBFactory(); // a fresh, empty database server per test
});

function record(i: number, extra: Partial<HistoryRecord> = {}): HistoryRecord {
  const wav = new Uint8Array([82, 73, 70, 70, i, 0, 0, 0]).buffer;
  return {
    key: `k${String(i).padStart(2, '0')}`,
    createdAt: 1_000 + i,
    packId: 'soundstep-small',
    request: { prompt: `sound ${i}`, denoiserId: 'teacher', steps: 25, guidanceScale: 3, seed: i },
    sampleRate: 16000,
    numSamples: 2,
    totalMs: 10 * i,
    timings: { tokenize: 1, encode: 2, denoise: 3, decode: 4, vocode: 5 },
    networkEvaluations: 50,
    truncated: false,
    tokenCount: 3,
    fileName: `sound-${i}_teacher_25-steps_seed-${i}.wav`,
    mel: { sample_rate: 16000, n_fft: 1024, hop_length: 160, win_length: 1024, n_mels: 64, f_min: 0, f_max: 8000, log_floor: 1e-5 },
    maxTokens: 32,
    wav,
    ...extra,
  };
}

describe('history', () => {
  it('adds and lists newest first, with the WAV bytes intact', async () => {
    const h = await openHistory({ factory });
    await h.add(record(1));
    await h.add(record(3));
    await h.add(record(2));
    const all = await h.list();
    expect(all.map((r) => r.key)).toEqual(['k03', 'k02', 'k01']);
    expect(Array.from(new Uint8Array(all[0]!.wav))).toEqual([82, 73, 70, 70, 3, 0, 0, 0]);
    expect(all[2]!.request).toEqual({ prompt: 'sound 1', denoiserId: 'teacher', steps: 25, guidanceScale: 3, seed: 1 });
  });

  it('keeps only the newest `limit` records and says which it dropped', async () => {
    const h = await openHistory({ factory, limit: 3 });
    const evicted: string[] = [];
    for (let i = 1; i <= 5; i++) evicted.push(...(await h.add(record(i))));
    expect(evicted).toEqual(['k01', 'k02']);
    expect((await h.list()).map((r) => r.key)).toEqual(['k05', 'k04', 'k03']);
  });

  it('removes one, clears all, and survives closing and reopening (a reload)', async () => {
    const h = await openHistory({ factory });
    for (let i = 1; i <= 3; i++) await h.add(record(i));
    await h.remove('k02');
    h.close();
    const again = await openHistory({ factory });
    expect((await again.list()).map((r) => r.key)).toEqual(['k03', 'k01']);
    await again.clear();
    expect(await again.list()).toEqual([]);
  });

  it('skips records of another shape instead of failing, and trims them away', async () => {
    const h = await openHistory({ factory, limit: 2 });
    await h.add(record(1));
    h.close();
    // a record an older version might have written: no WAV
    const raw = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open('soundstep', 1);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
    });
    await new Promise<void>((resolve) => {
      const tx = raw.transaction(HISTORY_STORE, 'readwrite');
      tx.objectStore(HISTORY_STORE).put({ key: 'old', createdAt: 5 });
      tx.oncomplete = () => resolve();
    });
    raw.close();
    const h2 = await openHistory({ factory, limit: 2 });
    expect((await h2.list()).map((r) => r.key)).toEqual(['k01']);
    const evicted = await h2.add(record(2));
    expect(evicted).toEqual(['old']);
  });

  it('isHistoryRecord checks the shape field by field', () => {
    expect(isHistoryRecord(record(1))).toBe(true);
    expect(isHistoryRecord({ ...record(1), wav: 'bytes' })).toBe(false);
    expect(isHistoryRecord({ ...record(1), request: { prompt: 'x' } })).toBe(false);
    expect(isHistoryRecord(null)).toBe(false);
  });

  it('rejects with a sentence when there is no IndexedDB', async () => {
    const g = globalThis as { indexedDB?: IDBFactory };
    const saved = g.indexedDB;
    delete g.indexedDB;
    try {
      await expect(openHistory()).rejects.toThrow('this browser has no IndexedDB');
    } finally {
      if (saved) g.indexedDB = saved;
    }
  });
});
