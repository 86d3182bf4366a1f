// Pack files kept in the browser's Cache Storage, so that a pack loaded once loads again
// offline (and without downloading it again).
//
// Keys: a file is stored under its URL plus `?soundstep-sha256=<hex>` (Cache Storage ignores
// #fragments), so a pack whose file changed gets a new key and the file is fetched again;
// manifest.json is stored under its plain URL and is only read when the network fails.
// Every read is verified against the manifest by the loader (pack.ts), so a damaged entry is
// dropped and fetched again. Browser or worker; the storage is passed in (tests use a fake).

import { MANIFEST_FILE, type FileEntry, type Manifest } from './manifest';
import type { PackFileCache } from './pack';

/** One Cache Storage cache for every pack; bump the suffix if the key scheme changes. */
export const PACK_CACHE_NAME = 'soundstep-packs-v1';
const SHA_PARAM = 'soundstep-sha256';
/** Byte size of an entry, stored with it so that the size can be summed without reading bodies. */
const BYTES_HEADER = 'x-soundstep-bytes';

/** The part of the Cache interface we use (a fake stands in for unit tests). */
export interface CacheLike {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
  keys(): Promise<ReadonlyArray<{ url: string }>>;
}

/** The part of CacheStorage we use (`globalThis.caches` in a secure context). */
export interface CacheStorageLike {
  open(name: string): Promise<CacheLike>;
  delete(name: string): Promise<boolean>;
  has(name: string): Promise<boolean>;
}

/** `globalThis.caches` when the page has it (secure contexts only), else null. */
export function browserCacheStorage(): CacheStorageLike | null {
  const storage = (globalThis as { caches?: CacheStorageLike }).caches;
  return storage ?? null;
}

/** Absolute URL of a pack file below `baseUrl` (which ends in '/'). */
export function fileUrl(baseUrl: string, file: string): string {
  return new URL(file, baseUrl).href;
}

/** The cache key of a pack file's exact contents: its URL and SHA-256. */
export function cacheKey(url: string, sha256: string): string {
  const u = new URL(url);
  u.searchParams.set(SHA_PARAM, sha256);
  return u.href;
}

async function readBytes(response: Response | undefined): Promise<Uint8Array | null> {
  return response ? new Uint8Array(await response.arrayBuffer()) : null;
}

/** Bytes handed to Cache Storage per chunk when a file is written. */
export const WRITE_SLICE = 2 ** 20;

/**
 * A body that hands `bytes` to the cache WRITE_SLICE at a time. `new Response(bytes)` would make
 * the browser take a copy of the whole file first (a 3.5 GB file held twice); a slice is copied
 * (the browser may keep what it was handed), so the file's own buffer stays usable for ORT.
 */
export function sliceStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + WRITE_SLICE));
      at += WRITE_SLICE;
    },
  });
}

function toResponse(bytes: Uint8Array, contentType: string): Response {
  const body = bytes.length > WRITE_SLICE ? sliceStream(bytes) : (bytes as Uint8Array<ArrayBuffer>);
  return new Response(body, {
    headers: { 'content-type': contentType, 'content-length': String(bytes.length), [BYTES_HEADER]: String(bytes.length) },
  });
}

/** The PackFileCache of the pack at `baseUrl` (an absolute URL ending in '/') in `cache`. */
export function packFileCache(cache: CacheLike, baseUrl: string): PackFileCache {
  const key = (file: string, entry: FileEntry): string => cacheKey(fileUrl(baseUrl, file), entry.sha256);
  const manifestKey = fileUrl(baseUrl, MANIFEST_FILE);
  return {
    readFile: async (file, entry) => readBytes(await cache.match(key(file, entry))),
    writeFile: (file, entry, bytes) => cache.put(key(file, entry), toResponse(bytes, 'application/octet-stream')),
    deleteFile: async (file, entry) => {
      await cache.delete(key(file, entry));
    },
    readManifest: async () => readBytes(await cache.match(manifestKey)),
    writeManifest: (bytes) => cache.put(manifestKey, toResponse(bytes, 'application/json')),
  };
}

/**
 * Drops this pack's entries that `manifest` no longer lists (older versions of its files),
 * so that the cache holds one copy of each pack. Returns how many entries went.
 */
export async function prunePack(cache: CacheLike, baseUrl: string, manifest: Manifest): Promise<number> {
  const keep = new Set([
    fileUrl(baseUrl, MANIFEST_FILE),
    ...Object.entries(manifest.files).map(([file, entry]) => cacheKey(fileUrl(baseUrl, file), entry.sha256)),
  ]);
  let dropped = 0;
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    url.search = '';
    if (url.href.startsWith(baseUrl) && !keep.has(request.url)) {
      await cache.delete(request.url);
      dropped += 1;
    }
  }
  return dropped;
}

export interface CacheUsage {
  /** cached files (manifests included) */
  entries: number;
  bytes: number;
  /** distinct packs (manifest.json entries) */
  packs: number;
}

/** What the pack cache holds. Sizes come from the header stored with each entry. */
export async function cacheUsage(storage: CacheStorageLike): Promise<CacheUsage> {
  if (!(await storage.has(PACK_CACHE_NAME))) return { entries: 0, bytes: 0, packs: 0 };
  const cache = await storage.open(PACK_CACHE_NAME);
  const usage: CacheUsage = { entries: 0, bytes: 0, packs: 0 };
  for (const request of await cache.keys()) {
    const response = await cache.match(request.url);
    usage.entries += 1;
    usage.bytes += Number(response?.headers.get(BYTES_HEADER) ?? 0) || 0;
    if (new URL(request.url).pathname.endsWith(`/${MANIFEST_FILE}`)) usage.packs += 1;
  }
  return usage;
}

/** Removes every cached pack file. */
export async function clearPackCache(storage: CacheStorageLike): Promise<void> {
  await storage.delete(PACK_CACHE_NAME);
}
