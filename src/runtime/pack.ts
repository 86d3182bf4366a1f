// Fetching a model pack's files and checking them against manifest.json (size and SHA-256).
// Browser-safe: no Node imports here (the Node reader is in fs-fetch.ts).

import { PackError } from './errors';
import { MANIFEST_FILE, validateManifest, type Manifest } from './manifest';

/** Reads one pack file by pack-relative path; reports progress as (loaded, total) bytes (total 0 if unknown). */
export type FetchFile = (path: string, onProgress?: (loaded: number, total: number) => void) => Promise<Uint8Array>;

export interface FileEvent {
  file: string;
  loaded: number;
  total: number;
  done: boolean;
}

/** A FetchFile over HTTP(S) below `baseUrl`, streaming the body for progress. */
export function httpFetchFile(baseUrl: string): FetchFile {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (path, onProgress) => {
    const url = resolveUrl(base, path);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new PackError(path, `could not be fetched from ${url} (${e instanceof Error ? e.message : String(e)})`, {
        cause: e,
      });
    }
    if (!response.ok) {
      const what = response.status === 404 ? 'not found' : 'could not be fetched';
      throw new PackError(path, `${what}: HTTP ${response.status} ${response.statusText} at ${url}`.trimEnd());
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
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    onProgress?.(0, total);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onProgress?.(loaded, Math.max(total, loaded));
    }
    return concat(chunks, loaded);
  };
}

function resolveUrl(base: string, path: string): string {
  const origin = typeof location !== 'undefined' ? location.href : undefined;
  try {
    return new URL(path, new URL(base, origin)).href;
  } catch {
    return base + path;
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

/** Lowercase hex SHA-256 of `bytes` (WebCrypto: browsers in a secure context, Node >= 19). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('crypto.subtle is not available (a browser needs a secure context: https or 127.0.0.1)');
  const digest = await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Reads and validates manifest.json; PackError('manifest.json', ...) when it is absent, not JSON or invalid. */
export async function fetchManifest(fetchFile: FetchFile): Promise<Manifest> {
  let bytes: Uint8Array;
  try {
    bytes = await fetchFile(MANIFEST_FILE);
  } catch (e) {
    if (e instanceof PackError) throw e;
    throw new PackError(MANIFEST_FILE, `could not be read (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new PackError(MANIFEST_FILE, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  return validateManifest(json);
}

/** Checks one file's bytes against its manifest entry; throws PackError naming the file. */
export async function verifyFile(manifest: Manifest, file: string, bytes: Uint8Array): Promise<void> {
  const entry = manifest.files[file];
  if (!entry) throw new PackError(file, 'is not listed in manifest.json files');
  if (bytes.length !== entry.bytes) {
    throw new PackError(file, `size mismatch: manifest.json says ${entry.bytes} bytes, the file has ${bytes.length}`);
  }
  const sha = await sha256Hex(bytes);
  if (sha !== entry.sha256) {
    throw new PackError(file, `SHA-256 mismatch: manifest.json says ${entry.sha256}, the file has ${sha}`);
  }
}

/**
 * Fetches every file listed in manifest.files (one at a time, in listing order), checks its
 * byte size and SHA-256, and returns the bytes by path. A file that cannot be fetched or does
 * not match throws PackError naming it. `onFile` gets progress with the manifest's size as total.
 */
export async function loadPackFiles(
  fetchFile: FetchFile,
  manifest: Manifest,
  onFile?: (e: FileEvent) => void,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [file, entry] of Object.entries(manifest.files)) {
    onFile?.({ file, loaded: 0, total: entry.bytes, done: false });
    let bytes: Uint8Array;
    try {
      bytes = await fetchFile(file, (loaded) => onFile?.({ file, loaded, total: entry.bytes, done: false }));
    } catch (e) {
      if (e instanceof PackError) throw e;
      throw new PackError(file, `is missing or unreadable (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    await verifyFile(manifest, file, bytes);
    out.set(file, bytes);
    onFile?.({ file, loaded: bytes.length, total: entry.bytes, done: true });
  }
  return out;
}
