// Fetching a model pack's files and checking them against manifest.json (size and SHA-256).
// Browser-safe: no Node imports here (the Node reader is in fs-fetch.ts).

import { CancelledError, PackError } from './errors';
import { MANIFEST_FILE, validateManifest, type FileEntry, type Manifest } from './manifest';
import { resolveInsidePack } from './pack-paths';
import { COPY_LIMIT, sha256Hex, sha256Stream } from './sha256';

export { sha256Hex } from './sha256';

/**
 * Reads one pack file by pack-relative path; reports progress as (loaded, total) bytes (total 0
 * if unknown). Aborting `signal` stops the download: it rejects with CancelledError. `stream`
 * (optional, HTTP only): the size manifest.json gives, so the body is read into one buffer of that
 * size instead of chunks joined at the end (which held the file twice), and each chunk as it arrives.
 */
export type FetchFile = (
  path: string,
  onProgress?: (loaded: number, total: number) => void,
  signal?: AbortSignal,
  stream?: FetchStream,
) => Promise<Uint8Array>;

/** What a streaming fetch is told and tells (FetchFile's `stream`). */
export interface FetchStream {
  /** the file's size from manifest.json: more bytes than this is refused as they arrive */
  expectedBytes: number;
  /** each chunk as it arrives, in order (the loader hashes it: sha256.ts) */
  onChunk(chunk: Uint8Array): void;
}

/** A download stopped by its caller (a cancelled generation), not a network failure. */
const downloadCancelled = (path: string): CancelledError => new CancelledError(`The download of ${path} was cancelled.`);

/** Where a file's bytes came from: fetched (network or disk) or the browser's Cache Storage. */
export type FileSource = 'network' | 'cache';

export interface FileEvent {
  file: string;
  loaded: number;
  total: number;
  done: boolean;
  /** set on the done event */
  source?: FileSource;
}

/**
 * A store of verified pack files (src/runtime/pack-cache.ts: Cache Storage), keyed by the
 * file's URL and SHA-256 so that a changed pack is fetched again. Every method may fail
 * (quota, private mode): the loader then goes on without it.
 */
export interface PackFileCache {
  readFile(file: string, entry: FileEntry): Promise<Uint8Array | null>;
  writeFile(file: string, entry: FileEntry, bytes: Uint8Array): Promise<void>;
  deleteFile(file: string, entry: FileEntry): Promise<void>;
  /** the last manifest.json fetched for this pack URL, for when the network fails */
  readManifest(): Promise<Uint8Array | null>;
  writeManifest(bytes: Uint8Array): Promise<void>;
}

/** What to do about a network failure, for the user. */
const NETWORK_ADVICE =
  'the request failed before any answer: you may be offline, the host name may be wrong, or the server ' +
  'does not allow cross-origin requests (it must send Access-Control-Allow-Origin). Check the URL and your connection';

/** A FetchFile over HTTP(S) below `baseUrl`, streaming the body for progress. */
export function httpFetchFile(baseUrl: string): FetchFile {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (path, onProgress, signal, stream) => {
    const url = resolveUrl(base, path);
    let response: Response;
    try {
      response = await fetch(url, signal ? { signal } : undefined);
    } catch (e) {
      if (signal?.aborted) throw downloadCancelled(path);
      throw new PackError(path, `could not be fetched from ${url}: ${NETWORK_ADVICE} (${e instanceof Error ? e.message : String(e)})`, {
        cause: e,
        network: true,
      });
    }
    if (!response.ok) {
      const notFound = response.status === 404;
      const what = notFound ? 'not found' : 'could not be fetched';
      throw new PackError(path, `${what}: HTTP ${response.status} ${response.statusText} at ${url}`.replace(/ +at /, ' at '), {
        notFound,
      });
    }
    const header = Number(response.headers.get('content-length') ?? '');
    // with Content-Encoding the header counts compressed bytes: then we do not know the total
    const total = Number.isFinite(header) && header > 0 && !response.headers.get('content-encoding') ? header : 0;
    if (!response.body) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      onProgress?.(bytes.length, bytes.length);
      return bytes;
    }
    const reader = response.body.getReader();
    const sink = bodySink(path, stream, total);
    let loaded = 0;
    onProgress?.(0, total);
    for (;;) {
      // an abort rejects the pending read (the fetch's signal cancels the body stream)
      const { done, value } = await reader.read().catch((e: unknown) => {
        throw signal?.aborted ? downloadCancelled(path) : e;
      });
      if (done) break;
      try {
        sink.add(value, loaded);
      } catch (e) {
        void reader.cancel().catch(() => undefined); // stop the download, not only the reading
        throw e;
      }
      loaded += value.length;
      onProgress?.(loaded, Math.max(total, loaded));
    }
    return sink.bytes(loaded);
  };
}

/** Where a body's chunks go: one buffer of the manifest's size (streaming), else a list joined at the end. */
function bodySink(path: string, stream: FetchStream | undefined, total: number): { add(c: Uint8Array, at: number): void; bytes(n: number): Uint8Array } {
  if (!stream) {
    const chunks: Uint8Array[] = [];
    return { add: (c) => void chunks.push(c), bytes: (n) => concat(chunks, n) };
  }
  const expected = stream.expectedBytes;
  // peak memory: this buffer plus one chunk in flight, not the chunks and their concatenation
  const out = new Uint8Array(expected);
  return {
    add: (c, at) => {
      if (at + c.length > expected) {
        const had = total > 0 ? `${total}` : `more than ${expected}`;
        throw new PackError(path, `size mismatch: manifest.json says ${expected} bytes, the server sends ${had}. Rebuild or re-upload the pack`);
      }
      out.set(c, at);
      stream.onChunk(c);
    },
    bytes: (n) => (n === expected ? out : out.subarray(0, n)),
  };
}

/** The URL of `path` below `base`; PackError naming the path when it would leave the pack folder. */
function resolveUrl(base: string, path: string): string {
  const origin = typeof location !== 'undefined' ? location.href : undefined;
  let folder: string;
  try {
    folder = new URL(base, origin).href;
  } catch {
    return base + path;
  }
  try {
    return resolveInsidePack(folder, path);
  } catch (e) {
    throw new PackError(path, `${e instanceof Error ? e.message : String(e)}: the pack's manifest names a file outside its folder, so it is refused`, {
      cause: e,
    });
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length === length) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** The first characters of a text, on one line, for messages. */
function opening(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  return line.length > 40 ? `${line.slice(0, 40)}…` : line;
}

/** A validated manifest and where its bytes came from. */
export interface FetchedManifest {
  manifest: Manifest;
  source: FileSource;
}

/**
 * Reads and validates manifest.json; PackError('manifest.json', ...) when it is absent, not
 * JSON or invalid, saying that the URL is probably not a pack. When the network fails and
 * `cache` holds the manifest last fetched from this URL, that one is used (source 'cache').
 */
export async function fetchManifestFrom(fetchFile: FetchFile, cache?: PackFileCache): Promise<FetchedManifest> {
  let bytes: Uint8Array;
  let source: FileSource = 'network';
  try {
    bytes = await fetchFile(MANIFEST_FILE);
  } catch (e) {
    const cached = e instanceof PackError && e.network && cache ? await cache.readManifest().catch(() => null) : null;
    if (cached) {
      bytes = cached;
      source = 'cache';
    } else if (e instanceof PackError && e.notFound) {
      throw new PackError(
        MANIFEST_FILE,
        `${e.problem}. This URL is not a soundstep model pack: a pack is a folder that holds manifest.json. Check the address`,
        { cause: e },
      );
    } else if (e instanceof PackError) {
      throw e;
    } else {
      throw new PackError(MANIFEST_FILE, `could not be read (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
  }
  let json: unknown;
  const text = new TextDecoder().decode(bytes);
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PackError(
      MANIFEST_FILE,
      `is not valid JSON (${e instanceof Error ? e.message : String(e)}; it starts with "${opening(text)}"): ` +
        'the URL does not point at a soundstep model pack folder',
      { cause: e },
    );
  }
  const manifest = validateManifest(json);
  if (source === 'network') await cache?.writeManifest(bytes).catch(() => undefined);
  return { manifest, source };
}

/** Reads and validates manifest.json (see fetchManifestFrom). */
export async function fetchManifest(fetchFile: FetchFile): Promise<Manifest> {
  return (await fetchManifestFrom(fetchFile)).manifest;
}

/**
 * Checks one file's bytes against its manifest entry; throws PackError naming the file. `digest`:
 * the SHA-256 already computed as the bytes streamed in (else it is computed here).
 */
export async function verifyFile(manifest: Manifest, file: string, bytes: Uint8Array, digest?: string): Promise<void> {
  const entry = manifest.files[file];
  if (!entry) throw new PackError(file, 'is not listed in manifest.json files');
  if (bytes.length !== entry.bytes) {
    throw new PackError(file, `size mismatch: manifest.json says ${entry.bytes} bytes, the file has ${bytes.length}`);
  }
  const sha = digest ?? (await sha256Hex(bytes));
  if (sha !== entry.sha256) {
    throw new PackError(
      file,
      `SHA-256 mismatch: manifest.json says ${entry.sha256}, the file has ${sha}. ` +
        'The file changed after the manifest was written, or was damaged on the way: rebuild or re-upload the pack',
    );
  }
}

/** True when `bytes` match the manifest entry (size and SHA-256). */
async function matches(entry: FileEntry, bytes: Uint8Array): Promise<boolean> {
  return bytes.length === entry.bytes && (await sha256Hex(bytes)) === entry.sha256;
}

export interface LoadFilesOptions {
  onFile?: (e: FileEvent) => void;
  /** which files to load (default: every file of manifest.files), in this order */
  files?: readonly string[];
  /** verified copies: read before fetching, written after a fetched file is verified */
  cache?: PackFileCache;
  /** aborting stops the download in progress and the files after it (CancelledError) */
  signal?: AbortSignal;
}

/**
 * Fetches the files (default: every file listed in manifest.files; one at a time, in listing
 * order), checks each one's byte size and SHA-256, and returns the bytes by path. A file that
 * cannot be fetched or does not match throws PackError naming it. `onFile` gets progress with
 * the manifest's size as total. With a cache, a cached copy that still matches is used
 * instead of fetching (one that no longer matches is dropped), and fetched files are stored.
 */
export async function loadPackFiles(
  fetchFile: FetchFile,
  manifest: Manifest,
  onFileOrOptions?: ((e: FileEvent) => void) | LoadFilesOptions,
): Promise<Map<string, Uint8Array>> {
  const opts: LoadFilesOptions = typeof onFileOrOptions === 'function' ? { onFile: onFileOrOptions } : (onFileOrOptions ?? {});
  const { onFile, cache, signal } = opts;
  const out = new Map<string, Uint8Array>();
  for (const file of opts.files ?? Object.keys(manifest.files)) {
    if (signal?.aborted) throw downloadCancelled(file);
    const entry = manifest.files[file];
    if (!entry) throw new PackError(file, 'is not listed in manifest.json files');
    onFile?.({ file, loaded: 0, total: entry.bytes, done: false });
    const cached = cache ? await cache.readFile(file, entry).catch(() => null) : null;
    if (cached && (await matches(entry, cached))) {
      out.set(file, cached);
      onFile?.({ file, loaded: cached.length, total: entry.bytes, done: true, source: 'cache' });
      continue;
    }
    if (cached) await cache?.deleteFile(file, entry).catch(() => undefined);
    let bytes: Uint8Array;
    // a large file is hashed as its chunks arrive (no second pass, no WebCrypto copy of it); a
    // small one after, by WebCrypto (several times faster than the JavaScript hash; its copy is small)
    const hash = entry.bytes > COPY_LIMIT ? sha256Stream() : null;
    try {
      const progress = (loaded: number): void => onFile?.({ file, loaded, total: entry.bytes, done: false });
      bytes = await fetchFile(file, progress, signal, { expectedBytes: entry.bytes, onChunk: (c) => hash?.update(c) });
    } catch (e) {
      if (signal?.aborted) throw downloadCancelled(file);
      if (e instanceof PackError && e.notFound) {
        throw new PackError(
          file,
          `${e.problem}. manifest.json lists this file but the server does not have it: the pack is incomplete (upload every file it lists)`,
          { cause: e, notFound: true },
        );
      }
      if (e instanceof PackError) throw e;
      throw new PackError(file, `is missing or unreadable (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    // a FetchFile that did not stream (a disk read) fed no chunks: verifyFile hashes the bytes
    await verifyFile(manifest, file, bytes, hash && hash.bytes === bytes.length ? hash.hex() : undefined);
    await cache?.writeFile(file, entry, bytes).catch(() => undefined);
    out.set(file, bytes);
    onFile?.({ file, loaded: bytes.length, total: entry.bytes, done: true, source: 'network' });
  }
  return out;
}
