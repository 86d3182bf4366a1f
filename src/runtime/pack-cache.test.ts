// The Cache Storage layer (pack-cache.ts) with the loader (pack.ts), on an in-memory fake of
// CacheStorage: a second load reads the cache, a changed file is fetched again, a damaged
// entry is dropped, the manifest comes from the cache only when the network fails.
import { describe, expect, it } from 'vitest';
import { readPackJson } from '../testing/pack';
import { PackError } from './errors';
import type { Manifest } from './manifest';
import { fetchManifestFrom, loadPackFiles, sha256Hex, type FetchFile, type FileEvent } from './pack';
import {
  cacheKey,
  cacheUsage,
  clearPackCache,
  packFileCache,
  prunePack,
  PACK_CACHE_NAME,
  type CacheLike,
  type CacheStorageLike,
} from './pack-cache';

const BASE = 'https://packs.example.test/small/';
const enc = new TextEncoder();

/** A CacheStorage in memory: bodies are kept as bytes, headers as given. */
class FakeCache implements CacheLike {
  readonly entries = new Map<string, { body: Uint8Array; headers: Headers }>();
  async match(url: string) {
    const e = this.entries.get(url);
    return e ? new Response(e.body as Uint8Array<ArrayBuffer>, { headers: e.headers }) : undefined;
  }
  async put(url: string, response: Response) {
    this.entries.set(url, { body: new Uint8Array(await response.arrayBuffer()), headers: response.headers });
  }
  async delete(url: string) {
    return this.entries.delete(url);
  }
  async keys() {
    return [...this.entries.keys()].map((url) => ({ url }));
  }
}
class FakeStorage implements CacheStorageLike {
  readonly caches = new Map<string, FakeCache>();
  async open(name: string) {
    if (!this.caches.has(name)) this.caches.set(name, new FakeCache());
    return this.caches.get(name)!;
  }
  async delete(name: string) {
    return this.caches.delete(name);
  }
  async has(name: string) {
    return this.caches.has(name);
  }
}

/** A pack served from memory; `offline` makes every fetch fail like a network error. */
async function server(contents: Record<string, string>) {
  const files: Manifest['files'] = {};
  for (const [path, text] of Object.entries(contents)) {
    files[path] = { bytes: enc.encode(text).length, sha256: await sha256Hex(enc.encode(text)) };
  }
  const state = { offline: false, fetched: [] as string[], contents };
  const manifest = { files } as Manifest;
  const fetchFile: FetchFile = async (path) => {
    if (state.offline) throw new PackError(path, 'could not be fetched (offline)', { network: true });
    state.fetched.push(path);
    if (path === 'manifest.json') return enc.encode(JSON.stringify({ files }));
    const text = state.contents[path];
    if (text === undefined) throw new PackError(path, 'not found', { notFound: true });
    return enc.encode(text);
  };
  return { manifest, fetchFile, state };
}

describe('pack cache', () => {
  it('keys a file by URL and SHA-256 (a query parameter: Cache Storage ignores fragments)', () => {
    expect(cacheKey(`${BASE}denoisers/teacher.onnx`, 'ab')).toBe(`${BASE}denoisers/teacher.onnx?soundstep-sha256=ab`);
  });

  it('serves a second load from the cache, and fetches a changed file again', async () => {
    const storage = new FakeStorage();
    const cache = packFileCache(await storage.open(PACK_CACHE_NAME), BASE);
    const pack = await server({ 'a.onnx': 'hello', 'b.json': '{}' });
    const sources = (events: FileEvent[]) => events.filter((e) => e.done).map((e) => `${e.file}:${e.source}`);

    const first: FileEvent[] = [];
    await loadPackFiles(pack.fetchFile, pack.manifest, { cache, onFile: (e) => first.push(e) });
    expect(sources(first)).toEqual(['a.onnx:network', 'b.json:network']);

    pack.state.fetched = [];
    const second: FileEvent[] = [];
    const out = await loadPackFiles(pack.fetchFile, pack.manifest, { cache, onFile: (e) => second.push(e) });
    expect(sources(second)).toEqual(['a.onnx:cache', 'b.json:cache']);
    expect(pack.state.fetched).toEqual([]);
    expect(new TextDecoder().decode(out.get('a.onnx'))).toBe('hello');

    // the pack changes a.onnx: its new hash is a new key, so it is fetched; b.json still cached
    const changed = await server({ 'a.onnx': 'HELLO!', 'b.json': '{}' });
    const third: FileEvent[] = [];
    await loadPackFiles(changed.fetchFile, changed.manifest, { cache, onFile: (e) => third.push(e) });
    expect(sources(third)).toEqual(['a.onnx:network', 'b.json:cache']);

    // the old a.onnx is pruned; usage counts what is left
    const raw = await storage.open(PACK_CACHE_NAME);
    expect(await prunePack(raw, BASE, changed.manifest)).toBe(1);
    expect(await cacheUsage(storage)).toEqual({ entries: 2, bytes: 6 + 2, packs: 0 });
    await clearPackCache(storage);
    expect(await cacheUsage(storage)).toEqual({ entries: 0, bytes: 0, packs: 0 });
  });

  it('drops a damaged cache entry and fetches the file again', async () => {
    const storage = new FakeStorage();
    const raw = await storage.open(PACK_CACHE_NAME);
    const cache = packFileCache(raw, BASE);
    const pack = await server({ 'a.onnx': 'hello' });
    const entry = pack.manifest.files['a.onnx']!;
    await raw.put(cacheKey(`${BASE}a.onnx`, entry.sha256), new Response('jello'));
    const events: FileEvent[] = [];
    const out = await loadPackFiles(pack.fetchFile, pack.manifest, { cache, onFile: (e) => events.push(e) });
    expect(new TextDecoder().decode(out.get('a.onnx'))).toBe('hello');
    expect(events.at(-1)?.source).toBe('network');
    expect(new TextDecoder().decode(await cache.readFile('a.onnx', entry) ?? new Uint8Array())).toBe('hello');
  });

  it('reads the manifest from the network, and from the cache only when the network fails', async () => {
    const storage = new FakeStorage();
    const cache = packFileCache(await storage.open(PACK_CACHE_NAME), BASE);
    const state = { offline: false, text: JSON.stringify(readPackJson('manifest.json')) };
    const fetchFile: FetchFile = async (path) => {
      if (state.offline) throw new PackError(path, 'could not be fetched (offline)', { network: true });
      return enc.encode(state.text);
    };
    // offline before any visit: the network error itself
    state.offline = true;
    await expect(fetchManifestFrom(fetchFile, cache)).rejects.toMatchObject({ network: true });
    // online: fetched and remembered
    state.offline = false;
    const online = await fetchManifestFrom(fetchFile, cache);
    expect(online.source).toBe('network');
    // offline again: the remembered manifest
    state.offline = true;
    const offline = await fetchManifestFrom(fetchFile, cache);
    expect(offline.source).toBe('cache');
    expect(offline.manifest.id).toBe(online.manifest.id);
    // online with a changed pack: the network's manifest wins
    state.offline = false;
    state.text = JSON.stringify({ ...JSON.parse(state.text), name: 'changed' });
    expect((await fetchManifestFrom(fetchFile, cache)).manifest.name).toBe('changed');
  });

  it('says that a URL without manifest.json is not a pack', async () => {
    const fetchFile: FetchFile = async (path) => {
      throw new PackError(path, 'not found: HTTP 404 Not Found at https://example.test/x/manifest.json', { notFound: true });
    };
    const e = (await fetchManifestFrom(fetchFile).catch((x: unknown) => x)) as PackError;
    expect(e.file).toBe('manifest.json');
    expect(e.problem).toMatch(/This URL is not a soundstep model pack: a pack is a folder that holds manifest\.json/);
  });

  it('says that an HTML page is not a pack manifest', async () => {
    const fetchFile: FetchFile = async () => enc.encode('<!doctype html><html><head><title>x</title></head></html>');
    const e = (await fetchManifestFrom(fetchFile).catch((x: unknown) => x)) as PackError;
    expect(e.problem).toMatch(/is not valid JSON .*it starts with "<!doctype html>.*the URL does not point at a soundstep model pack folder/);
  });
});
