// The last generated sounds, kept in this browser (IndexedDB) so they come back after a reload.
// A small typed layer over one object store: add (and trim to the newest `limit`), list newest
// first, remove one, clear all. Records hold the WAV bytes and what is needed to show, name and
// reproduce the sound. Nothing leaves the browser.
//
// Usage: const h = await openHistory(); await h.add(record); const all = await h.list();

import type { GenerateRequest, Stage } from '../runtime/api';
import type { MelConfig } from '../engine/mel';

export const HISTORY_DB = 'soundstep';
export const HISTORY_STORE = 'results';
const DB_VERSION = 1;
/** How many results are kept; the oldest go first. */
export const HISTORY_LIMIT = 12;

export interface HistoryRecord {
  /** unique key (also the page's result key) */
  key: string;
  /** ms since the epoch; newer records have larger values */
  createdAt: number;
  /** the pack that made it (manifest id) */
  packId: string;
  /** its name and URL (absent from records kept before they were recorded) */
  packName?: string;
  packUrl?: string;
  request: GenerateRequest;
  sampleRate: number;
  numSamples: number;
  /** wall-clock ms of the generation in the worker */
  totalMs: number;
  timings: Record<Stage, number>;
  networkEvaluations: number;
  truncated: boolean;
  tokenCount: number;
  /** the prompt's two parts when it was sampled in two halves (E23) */
  timeSplit?: [string, string];
  fileName: string;
  /** the pack's mel settings, to draw the spectrogram */
  mel: MelConfig;
  /** the pack's prompt limit when it was made (for the truncation note) */
  maxTokens: number | null;
  /** the complete WAV file */
  wav: ArrayBuffer;
  /** its final latent, for inpainting (absent from records kept before latents were) */
  latent?: Float32Array;
}

export interface History {
  /** Store a record, then delete the oldest beyond the limit; resolves to the deleted keys. */
  add(record: HistoryRecord): Promise<string[]>;
  /** Every readable record, newest first (records of another shape are skipped). */
  list(): Promise<HistoryRecord[]>;
  remove(key: string): Promise<void>;
  clear(): Promise<void>;
  close(): void;
}

export interface OpenHistoryOptions {
  /** default: globalThis.indexedDB (tests pass fake-indexeddb's) */
  factory?: IDBFactory;
  name?: string;
  limit?: number;
}

/** Wraps an IDBRequest in a promise. */
function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

/** Resolves when the transaction commits (so a reload sees the write). */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** True when `v` has the HistoryRecord shape (a record written by another version may not). */
export function isHistoryRecord(v: unknown): v is HistoryRecord {
  if (!isObject(v) || !isObject(v['request']) || !isObject(v['timings'])) return false;
  const r = v['request'];
  return (
    typeof v['key'] === 'string' &&
    isNum(v['createdAt']) &&
    typeof v['packId'] === 'string' &&
    typeof r['prompt'] === 'string' &&
    typeof r['denoiserId'] === 'string' &&
    isNum(r['steps']) &&
    isNum(r['guidanceScale']) &&
    isNum(r['seed']) &&
    isNum(v['sampleRate']) &&
    isNum(v['numSamples']) &&
    isNum(v['totalMs']) &&
    isNum(v['networkEvaluations']) &&
    typeof v['truncated'] === 'boolean' &&
    isNum(v['tokenCount']) &&
    (v['timeSplit'] === undefined || (Array.isArray(v['timeSplit']) && v['timeSplit'].length === 2 && v['timeSplit'].every((x) => typeof x === 'string'))) &&
    typeof v['fileName'] === 'string' &&
    isObject(v['mel']) &&
    isNum(v['mel']['n_fft']) &&
    isNum(v['mel']['sample_rate']) &&
    (v['maxTokens'] === null || isNum(v['maxTokens'])) &&
    v['wav'] instanceof ArrayBuffer
  );
}

/** Newest first; equal times fall back to the key so the order is total. */
export function newestFirst(a: HistoryRecord, b: HistoryRecord): number {
  return b.createdAt - a.createdAt || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);
}

/** Opens (creating on first use) the history database. Rejects when IndexedDB is unavailable. */
export async function openHistory(opts: OpenHistoryOptions = {}): Promise<History> {
  const factory = opts.factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) throw new Error('this browser has no IndexedDB');
  const limit = opts.limit ?? HISTORY_LIMIT;
  const open = factory.open(opts.name ?? HISTORY_DB, DB_VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains(HISTORY_STORE)) db.createObjectStore(HISTORY_STORE, { keyPath: 'key' });
  };
  const db = await done(open);

  const readAll = async (store: IDBObjectStore): Promise<HistoryRecord[]> => {
    const all = (await done(store.getAll())) as unknown[];
    return all.filter(isHistoryRecord).sort(newestFirst);
  };

  return {
    async add(record) {
      const tx = db.transaction(HISTORY_STORE, 'readwrite');
      const ok = committed(tx);
      const store = tx.objectStore(HISTORY_STORE);
      await done(store.put(record));
      // trim inside the same transaction: keys of unreadable records go too
      const keys = (await done(store.getAllKeys())) as string[];
      const records = await readAll(store);
      const keep = new Set(records.slice(0, limit).map((r) => r.key));
      const evicted = keys.filter((k) => !keep.has(k));
      for (const k of evicted) store.delete(k);
      await ok;
      return evicted;
    },
    async list() {
      const tx = db.transaction(HISTORY_STORE, 'readonly');
      return readAll(tx.objectStore(HISTORY_STORE));
    },
    async remove(key) {
      const tx = db.transaction(HISTORY_STORE, 'readwrite');
      tx.objectStore(HISTORY_STORE).delete(key);
      await committed(tx);
    },
    async clear() {
      const tx = db.transaction(HISTORY_STORE, 'readwrite');
      tx.objectStore(HISTORY_STORE).clear();
      await committed(tx);
    },
    close() {
      db.close();
    },
  };
}
