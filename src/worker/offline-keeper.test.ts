// Keeping a pack offline (offline-keeper.ts) under the real loader (pack.ts loadPackFiles): the
// room the browser gives is checked before each file is stored, a failed store is reported (not
// swallowed), and loading goes on either way. Cache Storage does not exist in Node: the store
// here is a Map.
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../runtime/manifest';
import { loadPackFiles, sha256Hex, type PackFileCache } from '../runtime/pack';
import { keepOffline } from './offline-keeper';

const enc = new TextEncoder();

/** A manifest listing `contents` (only its files matter to loadPackFiles) and a fetch for them. */
async function pack(contents: Record<string, string>) {
  const files: Manifest['files'] = {};
  for (const [path, text] of Object.entries(contents)) {
    files[path] = { bytes: enc.encode(text).length, sha256: await sha256Hex(enc.encode(text)) };
  }
  const manifest = { files } as unknown as Manifest;
  const fetchFile = async (path: string) => enc.encode(contents[path] ?? '');
  return { manifest, fetchFile };
}

/** A PackFileCache in memory; `failOn` makes that file's write reject as the browser would. */
function memoryCache(failOn?: { file: string; error: Error }): PackFileCache & { stored: Map<string, Uint8Array> } {
  const stored = new Map<string, Uint8Array>();
  return {
    stored,
    readFile: async (file) => stored.get(file) ?? null,
    readManifest: async () => stored.get('manifest.json') ?? null,
    deleteFile: async (file) => void stored.delete(file),
    writeFile: async (file, _entry, bytes) => {
      if (failOn?.file === file) throw failOn.error;
      stored.set(file, bytes);
    },
    writeManifest: async (bytes) => void stored.set('manifest.json', bytes),
  };
}

const FILES = { 'a.onnx': 'a'.repeat(300), 'b.onnx': 'b'.repeat(2_000), 'c.json': 'c'.repeat(50) };

describe('keeping a pack offline', () => {
  it('stores every file when there is room, and says the pack is available offline', async () => {
    const { manifest, fetchFile } = await pack(FILES);
    const inner = memoryCache();
    const keeper = keepOffline(inner, { quota: 1e6, usage: 1e3 });
    await loadPackFiles(fetchFile, manifest, { cache: keeper.cache });
    expect([...inner.stored.keys()]).toEqual(['a.onnx', 'b.onnx', 'c.json']);
    expect(keeper.status()).toEqual({ available: true, reason: 'Available offline: every file this pack loaded is kept in this browser.' });
  });

  it('does not store a file that does not fit, says why and what to do, and still loads every file', async () => {
    const { manifest, fetchFile } = await pack(FILES);
    const inner = memoryCache();
    const keeper = keepOffline(inner, { quota: 2_500, usage: 1_000 });
    const loaded = await loadPackFiles(fetchFile, manifest, { cache: keeper.cache });
    expect([...loaded.keys()]).toEqual(['a.onnx', 'b.onnx', 'c.json']); // the pack works online
    expect([...inner.stored.keys()]).toEqual(['a.onnx']); // b does not fit in the 1200 bytes left; nothing after it is stored
    expect(keeper.status()).toEqual({
      available: false,
      reason:
        "Not available offline: b.onnx (2 kB) does not fit in the storage this browser gives this site (1 kB free of 3 kB). Free some space (Clear cache below, or other sites' data in the browser's settings) and load the pack again to keep it. It works online as it is; until then it is downloaded again on every visit.",
    });
  });

  it('a store refused for lack of room (Chromium reports a static quota) says the file does not fit', async () => {
    const { manifest, fetchFile } = await pack(FILES);
    const error = new Error('The quota has been exceeded.');
    error.name = 'QuotaExceededError';
    const inner = memoryCache({ file: 'b.onnx', error });
    const keeper = keepOffline(inner, null); // no estimate: only the failure tells
    const loaded = await loadPackFiles(fetchFile, manifest, { cache: keeper.cache });
    expect(loaded.size).toBe(3);
    expect([...inner.stored.keys()]).toEqual(['a.onnx']);
    expect(keeper.status()).toEqual({
      available: false,
      reason:
"Not available offline: b.onnx (2 kB) does not fit in the storage this browser gives this site (the browser refused it: quota exceeded). Free some space (Clear cache below, or other sites' data in the browser's settings) and load the pack again to keep it. It works online as it is; until then it is downloaded again on every visit.",
    });
  });

  it('reports any other refused store (no longer swallowed), naming the file and the error', async () => {
    const { manifest, fetchFile } = await pack(FILES);
    const error = new Error('The operation is insecure.');
    error.name = 'SecurityError';
    const inner = memoryCache({ file: 'b.onnx', error });
    const keeper = keepOffline(inner, { quota: 1e6, usage: 0 });
    expect((await loadPackFiles(fetchFile, manifest, { cache: keeper.cache })).size).toBe(3);
    expect(keeper.status()).toEqual({
      available: false,
      reason:
        'Not available offline: the browser refused to store b.onnx (SecurityError: The operation is insecure.). Load the pack again to retry. It works online as it is; until then it is downloaded again on every visit.',
    });
  });

  it('a file already cached needs no room; a second load of a kept pack stays available', async () => {
    const { manifest, fetchFile } = await pack(FILES);
    const inner = memoryCache();
    await loadPackFiles(fetchFile, manifest, { cache: keepOffline(inner, null).cache });
    const again = keepOffline(inner, { quota: 3_000, usage: 2_900 }); // full, but nothing needs storing
    await loadPackFiles(fetchFile, manifest, { cache: again.cache });
    expect(again.status().available).toBe(true);
  });

  it('without Cache Storage, or when it cannot be opened, says so', () => {
    expect(keepOffline(undefined, null).status()).toEqual({
      available: false,
      reason: 'Not available offline: this browser gives the page no Cache Storage here (it needs https), so the pack is downloaded on every visit.',
    });
    const denied = new Error('access denied');
    denied.name = 'SecurityError';
    expect(keepOffline(undefined, null, denied).status().reason).toBe(
      "Not available offline: the browser's Cache Storage could not be opened (SecurityError: access denied), so the pack is downloaded on every visit.",
    );
  });
});
